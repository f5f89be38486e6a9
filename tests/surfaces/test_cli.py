"""The `add` / `list` / `remove` commands drive the same collection code as the chat."""

from __future__ import annotations

import json

from qa.cli import main
from articles import LAGOS, PAGE, SEED_ID, WHEAT, jsonl
from conftest import SEEDS


def test_cli_add_list_and_remove(settings, tmp_path, capsys):
    (tmp_path / "cairo.html").write_text(PAGE)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "copy.txt").write_text((SEEDS / f"{SEED_ID}.txt").read_text())
    where = ["--index", str(settings.index_dir)]

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "empty.txt"), "--strict", *where]) == 2
    out, err = capsys.readouterr()
    assert "refused empty.txt: the file is empty" in err and "nothing was added" in err

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "copy.txt"), *where]) == 0
    out, err = capsys.readouterr()
    assert "added cairo from cairo.html: Snow falls in Cairo" in out
    assert f"skipped copy.txt: same text as article {SEED_ID}" in out
    assert "collection: 3 articles" in out

    assert main(["add", str(tmp_path / "missing.txt"), *where]) == 2
    assert "no such file" in capsys.readouterr().err

    assert main(["list", *where]) == 0
    assert "cairo\tcairo.html\tSnow falls in Cairo" in capsys.readouterr().out

    assert main(["remove", "cairo", "nope", *where]) == 2
    assert "refused nope" in capsys.readouterr().err
    assert main(["remove", "cairo", *where]) == 0
    out, _ = capsys.readouterr()
    assert "removed cairo: Snow falls in Cairo" in out and "collection: 2 articles" in out


def test_cli_add_of_an_archive_reports_bad_lines_and_adds_the_rest(settings, tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(LAGOS) + b'{"title": "no text"}\n' + b"not json\n" + jsonl(WHEAT) + jsonl(LAGOS))
    where = ["--index", str(settings.index_dir)]
    assert main(["add", str(feed), "--strict", *where]) == 2
    _, err = capsys.readouterr()
    assert "feed.jsonl line 2" in err and "feed.jsonl line 3" in err and "nothing was added" in err

    assert main(["add", str(feed), *where]) == 2
    out, err = capsys.readouterr()
    assert 'refused feed.jsonl line 2: missing required field "text"' in err
    assert "refused feed.jsonl line 3: not valid JSON" in err and "2 refused; the rest was added" in err
    assert "skipped feed.jsonl line 5: same text as article feed#" in out and "collection: 4 articles" in out
    # Run again: it resumes after the last line and adds nothing.
    assert main(["add", str(feed), *where]) == 0
    out, _ = capsys.readouterr()
    assert "resuming feed.jsonl after line 5" in out
    assert main(["list", *where]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert json.loads(feed.read_text().splitlines()[0])["title"] == "Floods in Lagos"  # the file is untouched


def test_the_postgres_command_starts_a_loopback_server_the_commands_use_then_stops_it(tmp_path, capsys, monkeypatch):
    """`python -m qa postgres start` prints a URL; with QA_STORE set to it, `add`, `list` and `remove`
    change the collection in that server; `stop` stops it (its PID is gone)."""
    import os
    from pathlib import Path
    import subprocess
    import sys

    from qa.store import postgres_server

    port = postgres_server.free_port()
    folder = tmp_path / "pg"
    assert main(["postgres", "start", "--dir", str(folder), "--port", str(port)]) == 0
    url = capsys.readouterr().out.strip()
    try:
        assert url.startswith("postgresql://qa:") and url.endswith(f"@127.0.0.1:{port}/qa")
        pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        local = [line.split()[3] for line in listening.splitlines()]  # State Recv-Q Send-Q Local Peer
        assert local and all(address == f"127.0.0.1:{port}" for address in local), listening
        (tmp_path / "cairo.html").write_text(PAGE)
        env = {**os.environ, "QA_STORE": url}
        added = subprocess.run([sys.executable, "-m", "qa", "add", str(tmp_path / "cairo.html")], env=env,
                               capture_output=True, text=True, timeout=300)
        assert added.returncode == 0 and "added cairo" in added.stdout and "collection: 3 articles" in added.stdout, added.stderr
        monkeypatch.setenv("QA_STORE", url)
        assert main(["list"]) == 0
        assert "cairo\tcairo.html\tSnow falls in Cairo" in capsys.readouterr().out
        assert main(["remove", "cairo"]) == 0 and "collection: 2 articles" in capsys.readouterr().out
        assert main(["postgres", "status", "--dir", str(folder)]) == 0 and capsys.readouterr().out.strip() == url
    finally:
        assert main(["postgres", "stop", "--dir", str(folder)]) == 0
    assert "stopped" in capsys.readouterr().out
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "\nState:\tZ" in status.read_text()  # gone, or a zombie left to its reaper
    assert main(["postgres", "status", "--dir", str(folder)]) == 1


def test_ask_names_passages_as_the_chat_does_and_refuses_empty_questions_before_loading_models(settings, capsys,
                                                                                                 monkeypatch):
    where = ["--index", str(settings.index_dir)]
    assert main(["ask", "How many missiles did Iraq say were fired?", *where]) == 0
    # the chat's numbering: the article's second passage (index 1) holds "22 missiles"
    out = capsys.readouterr().out
    assert "A: 22 (according to Iraq)" in out and "Trump responds: ‘All is well’ — passage 2]" in out
    from qa.answering.pipeline import Pipeline

    def no_models(*args, **kwargs):
        raise AssertionError("models were loaded for an empty question")

    monkeypatch.setattr(Pipeline, "load", no_models)
    assert main(["ask", "   ", "", *where]) == 2
    assert capsys.readouterr().out.count("error: Please type a question.") == 2


def test_eval_qa_points_a_squad_file_to_eval_squad(tmp_path, capsys):
    squad = tmp_path / "dev.json"
    squad.write_text(json.dumps({"version": "1.1", "data": [{"title": "T", "paragraphs": []}]}))
    assert main(["eval", "qa", str(squad), "--index", str(tmp_path / "index")]) == 2
    assert f"use `python -m qa eval squad {squad}`" in capsys.readouterr().err.replace("evaluate it with", "use")
