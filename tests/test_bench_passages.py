"""bench/passages.py: how an article is cut into pieces of several vectors (the variant the README measures)."""

from __future__ import annotations

from bench.passages import Article, first_words, pieces


def test_pieces_keep_every_word_in_order_under_the_articles_heading() -> None:
    heading = "Điều 7. Các hành vi bị nghiêm cấm"
    clauses = tuple(f"{n}. " + " ".join(f"từ{n}x{i}" for i in range(120)) for n in range(1, 5))
    article = Article("luat:7#abc", (heading + "\nNội dung mở đầu.", *clauses))
    found = pieces(article, limit=200)
    # the article's own text (12 words) and khoản 1 (121); then each khoản alone under the heading (8 + 121)
    assert [len(p.split()) for p in found] == [133, 129, 129, 129]
    assert all(p.startswith(heading) for p in found)
    body = " ".join(p.removeprefix(heading) for p in found[1:]).split()
    assert body == " ".join(clauses[1:]).split()


def test_a_clause_longer_than_a_piece_runs_on_over_several() -> None:
    text = "3. Tiêu đề khoản\n" + " ".join(f"w{i}" for i in range(450))
    found = [p.split() for p in pieces(Article("chi-thi:3#abc", (text,)), limit=200)]
    assert [len(p) for p in found] == [196, 4 + 196, 4 + 62]  # 454 words in runs of 200 less the heading's 4
    assert all(p[:4] == ["3.", "Tiêu", "đề", "khoản"] for p in found)
    assert found[0] + [w for p in found[1:] for w in p[4:]] == text.split()


def test_first_words_cuts_the_whole_article_once() -> None:
    article = Article("luat:1#abc", ("Điều 1. Phạm vi", "1. " + "chữ " * 300))
    assert [len(t.split()) for t in first_words(100)(article)] == [100]
