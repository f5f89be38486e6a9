"""The `add` / `list` / `remove` commands drive the same collection code as the chat."""

from __future__ import annotations



from qa.cli import main
from articles import PAGE, SEED_ID
from conftest import SEEDS


# --- command line -------------------------------------------------------------------------------


def test_cli_add_and_remove(settings, corpus, tmp_path, capsys):
    (tmp_path / "cairo.html").write_text(PAGE)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "copy.txt").write_text((SEEDS / f"{SEED_ID}.txt").read_text())
    folders = ["--corpus", str(corpus), "--index", str(settings.index_dir)]

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "empty.txt"), *folders]) == 2
    out, err = capsys.readouterr()
    assert "refused empty.txt: the file is empty" in err and "nothing was added" in err
    assert not (corpus / "cairo.html").exists()

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "copy.txt"), *folders]) == 0
    out, err = capsys.readouterr()
    assert "added cairo from cairo.html: Snow falls in Cairo" in out
    assert f"skipped copy.txt: same text as article {SEED_ID}" in out
    assert "index: 3 articles" in out

    assert main(["add", str(tmp_path / "missing.txt"), *folders]) == 2
    assert "no such file" in capsys.readouterr().err

    assert main(["list", "--corpus", str(corpus)]) == 0
    assert "cairo\tcairo.html\tSnow falls in Cairo" in capsys.readouterr().out

    assert main(["remove", "cairo", "nope", *folders]) == 2
    assert "refused nope" in capsys.readouterr().err and (corpus / "cairo.html").exists()
    assert main(["remove", "cairo", *folders]) == 0
    out, _ = capsys.readouterr()
    assert "removed cairo: Snow falls in Cairo" in out and "index: 2 articles" in out
    assert not (corpus / "cairo.html").exists()
