"""The hard cases of real wire copy, one small text each, with the expected result spelt out."""

from kstance.extract import extract_quotes
from kstance.quotes import find_quotes, split_articles


def spans(text):
    return [text[q.start:q.end] for q in find_quotes(text, split_articles(text)[0])]


def one(text):
    recs = extract_quotes(text, "t")
    assert len(recs) == 1, recs
    return recs[0]


def test_curly_straight_and_single_quotes():
    assert spans("“We are ready,” he said.") == ["We are ready"]
    assert spans('"We are ready," he said.') == ["We are ready"]
    # the closing single mark is also the apostrophe
    assert spans("Kim said ‘Seoul’s drills won’t stop us’ on Monday.") == ["Seoul’s drills won’t stop us"]


def test_quote_over_two_paragraphs_is_one_quote():
    text = "Kim said: “We are ready to talk.\n\n“But we will not wait forever,” he added."
    recs = extract_quotes(text, "t")
    assert len(recs) == 1
    assert recs[0]["text"] == "We are ready to talk. But we will not wait forever"
    assert recs[0]["speaker"] == "Kim"


def test_stray_mark_is_closed_at_the_paragraph_end():
    text = "The agency said the drill was “a rehearsal for invasion.\n\nLater, Seoul said nothing. “We regret it,” a minister said."
    got = spans(text)
    assert got == ["a rehearsal for invasion.", "We regret it"]


def test_a_file_of_only_quotation_marks_gives_nothing():
    assert extract_quotes("“”“” \"\" ‘’", "t") == []


def test_attribution_forms():
    assert one("“We will respond,” said Vice Minister Ryu Chol Min.")["speaker"] == "Ryu Chol Min"
    assert one("Choe Son Hui said: “We are willing to meet.”")["speaker"] == "Choe Son Hui"
    r = one("The talks were useful, according to a Chinese foreign ministry spokesperson, who called them “a good start”.")
    assert r["source"] == "CHN"
    r = one("“Our position is unchanged,” the statement said.")
    assert r["speaker"] is None or r["speaker"] == "the statement"


def test_pronoun_and_surname_resolve_to_the_full_name():
    text = ("Japanese Defense Minister Kenji Arai said the launch was a threat.\n\n"
            "“We will not tolerate it,” he said.\n\n“It is a grave matter,” Arai added.")
    recs = extract_quotes(text, "t")
    assert [r["speaker"] for r in recs] == ["Kenji Arai", "Kenji Arai"]
    assert {r["source"] for r in recs} == {"JPN"}


def test_quote_paragraph_without_attribution_belongs_to_the_speaker_before():
    text = "“We want peace,” a South Korean official said.\n\n“And we will keep asking for it.”"
    recs = extract_quotes(text, "t")
    assert [r["speaker"] for r in recs] == ["a South Korean official"] * 2


def test_scare_quote_has_no_speaker():
    r = one("Residents took part in “blackout” training on Tuesday.")
    assert r["speaker"] is None and r["fragment"] is True and r["official"] is False


def test_non_officials_are_not_official():
    r = one("“The North is testing the new government,” said Lee Min-ho, a professor at a university in Seoul.")
    assert r["official"] is False and r["source"] == "KOR"
    r = one("“Nobody expected it,” a source in Pyongyang told the website.")
    assert r["official"] is False and r["source"] == "PRK"


def test_context_replaces_the_quote():
    r = one("“We demand an apology,” the KCNA statement said.")
    assert r["context"] == "“[Q],” the KCNA statement said."
    assert r["source"] == "PRK" and r["official"] is True


def test_fragment_flag():
    r = one("The ministry said it would take “corresponding measures” if the drills went ahead.")
    assert r["fragment"] is True
    r = one("The ministry said that “the drills are a rehearsal for invasion and must stop at once.”")
    assert r["fragment"] is False


def test_names_with_odd_spaces_do_not_break_extraction():
    # scraped HTML carries no-break spaces and doubled spaces inside names
    for sep in ("  ", "\u00a0", "\t"):
        r = one(f"“We are ready,” said Vice Minister Ryu{sep}Chol Min.")
        assert r["speaker"] == "Ryu Chol Min"
