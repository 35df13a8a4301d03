"""Vietnamese text handling: tone marks, folding, terms, abbreviations, accent restoration."""

from __future__ import annotations

from knowledge.vietnamese import fold, has_diacritics, lexicon, normalize, terms


def test_tone_mark_placement_is_one_spelling() -> None:
    assert normalize("hoà hoá thuỷ khoẻ hoạ") == "hòa hóa thủy khỏe họa"
    assert normalize("Hoà") == "Hòa" and normalize("THUỶ") == "THỦY"
    assert normalize("hoàn thuyết quý quỳ khuya") == "hoàn thuyết quý quỳ khuya"  # untouched


def test_decomposed_input_and_eth_become_nfc_d_stroke() -> None:
    decomposed = "ho\u0300a"  # o + combining grave
    assert normalize(decomposed) == "hòa"
    assert normalize("\u00d0iều 1") == "Điều 1"


def test_fold_strips_every_mark() -> None:
    assert fold("Đăng ký công việc đột phá") == "dang ky cong viec dot pha"
    assert not has_diacritics("han nop bao cao") and has_diacritics("hạn nộp")


def test_terms_match_with_and_without_accents() -> None:
    assert terms("Hạn nộp báo cáo") == terms("han nop bao cao")
    assert "bao_cao" in terms("báo cáo kiểm điểm")


def test_stopwords_are_matched_on_accented_syllables() -> None:
    kept = terms("Cải cách là gì", drop_stopwords=True)
    assert "cai" in kept and "la" not in kept and "gi" not in kept
    assert "cai" not in terms("cái bàn", drop_stopwords=True)


def test_abbreviations_expand_both_ways_in_documents() -> None:
    with_short = set(terms("Chỉ số CCHC của UBND", expand=True))
    with_full = set(terms("chỉ số cải cách hành chính của Ủy ban nhân dân", expand=True))
    assert {"cai_cach", "hanh_chinh", "uy_ban"} <= with_short
    assert {"cchc", "ubnd"} <= with_full
    assert "cai" not in terms("CCHC")  # questions are not expanded


def test_expand_text_for_the_dense_model() -> None:
    assert lexicon().expand("UBND xã và hdnd") == "UBND (Ủy ban nhân dân) xã và hdnd (Hội đồng nhân dân)"
    assert lexicon().expand("Nghị định 107/2021/NĐ-CP").endswith("NĐ-CP (nghị định của Chính phủ)")


def test_folding_and_tone_placement_run_on_whole_texts() -> None:
    text = "Hoà giải ở cơ sở; THUỶ LỢI; Đắk Lắk; ho\u0300a; quý khuya"
    assert normalize(text) == "Hòa giải ở cơ sở; THỦY LỢI; Đắk Lắk; hòa; quý khuya"
    assert fold(text) == "hoa giai o co so; thuy loi; dak lak; hoa; quy khuya"
    assert fold("Ἀθῆναι йод") == "αθηναι иод"  # marks of other alphabets go too


def test_thesaurus_names_the_other_phrases_of_a_group() -> None:
    related = lexicon().related("Giấy tờ của dân phải scan lại không?")
    assert {"số hóa", "quét", "hồ sơ", "người dân"} <= set(related)
    assert "scan" not in related and "giấy tờ" not in related  # what the question says itself
    assert lexicon().related("so hoa giay to")[:2] == ["scan", "quét"]  # typed without accents
    assert lexicon().related("scanner") == []  # whole words only
