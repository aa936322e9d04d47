// Package lang tells the language of a customer's message, so that an
// automatic reply goes out in it (DESIGN.md section 5c).
//
// The script settles most languages outright, and that part is written
// here because the library's is a majority vote that gets mixed scripts
// wrong: any kana is Japanese (a Japanese sentence is often more kanji than
// kana; whatlanggo calls it Chinese), Hangul Korean, Han without kana
// Chinese, then Hebrew, Greek, Thai, Arabic script Arabic; Cyrillic is Ukrainian
// when it has a letter only Ukrainian uses (є, і, ї, ґ), else Russian
// unless the trigrams say Ukrainian. For Latin script, a compact trigram
// model decides among the languages a support desk commonly answers in:
// github.com/abadojack/whatlanggo, restricted to them (which makes it both
// more accurate — no Bulgarian for Russian — and twice as fast:
// BenchmarkDetect, 150 µs against 290 µs for a Latin sentence; kana 1 µs,
// Cyrillic with a telling letter 5 µs). lingua-go is more accurate still, but its models are
// 124 MB, too big for a Lambda binary; whatlanggo is 400 KB of source, pure
// Go, unmaintained since 2020 — acceptable for what is static data (its
// trigram profiles), pinned, and checked here by this package's tests.
// BenchmarkDetect prints the cost per message; the profiles are package
// variables, initialised at start (GODEBUG=inittrace=1 prints that cost).
//
// Messages under a few words are not judged ("ok", "thanks", a tracking
// number): a language from those is a guess.
package lang

import (
	"strings"
	"unicode"

	"github.com/abadojack/whatlanggo"
)

// MinWords is how many words a Latin or Cyrillic text needs to be judged;
// MinLetters how many letters any text needs.
const (
	MinWords   = 3
	MinLetters = 8
)

// latin are the Latin-script languages the trigram model chooses among.
var latin = map[whatlanggo.Lang]bool{
	whatlanggo.Eng: true, whatlanggo.Spa: true, whatlanggo.Por: true, whatlanggo.Fra: true, whatlanggo.Deu: true,
	whatlanggo.Ita: true, whatlanggo.Nld: true, whatlanggo.Pol: true, whatlanggo.Tur: true, whatlanggo.Swe: true,
	whatlanggo.Dan: true, whatlanggo.Nob: true, whatlanggo.Fin: true, whatlanggo.Ron: true, whatlanggo.Ces: true,
	whatlanggo.Hun: true, whatlanggo.Ind: true, whatlanggo.Vie: true, whatlanggo.Tgl: true,
}

var cyrillic = map[whatlanggo.Lang]bool{whatlanggo.Rus: true, whatlanggo.Ukr: true}

// Detect returns the ISO 639-1 code of text's language ("es", "ja"), or
// false when the text is too short to tell or in no language it knows.
func Detect(text string) (string, bool) {
	var letters, kana, hangul, han, cyr, lat int
	ukrainian, russian := false, false
	counts := map[string]int{}
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		switch {
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
			ukrainian = ukrainian || strings.ContainsRune("єіїґЄІЇҐ", r)
			russian = russian || strings.ContainsRune("ёыэъЁЫЭЪ", r)
		case unicode.Is(unicode.Latin, r):
			lat++
		case unicode.Is(unicode.Hebrew, r):
			counts["he"]++
		case unicode.Is(unicode.Greek, r):
			counts["el"]++
		case unicode.Is(unicode.Thai, r):
			counts["th"]++
		case unicode.Is(unicode.Arabic, r):
			counts["ar"]++
		}
	}
	// Scripts without spaces between words are judged by letters alone:
	// four kana or hangul, or four Han characters, are a sentence's worth.
	switch {
	case kana > 0 && kana+han >= 4 && kana+han > letters/2:
		return "ja", true
	case hangul >= 4 && hangul > letters/2:
		return "ko", true
	case han >= 4 && han > letters/2:
		return "zh", true
	case counts["th"] >= 4 && counts["th"] > letters/2:
		return "th", true
	}
	if letters < MinLetters || len(strings.Fields(text)) < MinWords {
		return "", false
	}
	for code, n := range counts {
		if n > letters/2 {
			return code, true
		}
	}
	switch {
	case cyr > letters/2 && ukrainian && !russian:
		return "uk", true
	case cyr > letters/2 && russian && !ukrainian:
		return "ru", true
	case cyr > letters/2:
		if whatlanggo.DetectLangWithOptions(text, whatlanggo.Options{Whitelist: cyrillic}) == whatlanggo.Ukr {
			return "uk", true
		}
		return "ru", true
	case lat > letters/2:
		if code := latinMark(text); code != "" {
			return code, true
		}
		l := whatlanggo.DetectLangWithOptions(text, whatlanggo.Options{Whitelist: latin})
		if code := l.Iso6391(); code != "" && latin[l] {
			return code, true
		}
	}
	return "", false
}

// Base is a BCP 47 tag's language ("pt" of "pt-BR"), lower case.
func Base(tag string) string {
	b, _, _ := strings.Cut(tag, "-")
	b, _, _ = strings.Cut(b, "_")
	return strings.ToLower(b)
}

// latinMark is the language a Latin text's mark settles, if any: the
// inverted ¿ and ¡ are Spanish's alone, ã and õ Portuguese's, ß German's.
// Trigrams of a short sentence are easily swayed ("Hola, ¿cuándo llega
// mi pedido?" is Italian to them).
func latinMark(text string) string {
	switch {
	case strings.ContainsAny(text, "¿¡"):
		return "es"
	case strings.ContainsAny(text, "ãõÃÕ"):
		return "pt"
	case strings.ContainsRune(text, 'ß'):
		return "de"
	}
	return ""
}
