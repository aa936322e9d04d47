package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Form is an application/x-www-form-urlencoded body (a Twilio webhook's),
// its pairs in the order they came.
//
// ParseForm is hand-written because it is on the hot path of every Twilio
// webhook: url.ParseQuery builds a map, a slice per name and a string per
// escaped name or value — 31 of the 47 allocations of a whole inbound SMS —
// where ParseForm makes two (the pairs, and one string holding every
// unescaped name and value). It accepts and refuses exactly what
// url.ParseQuery does and yields the same pairs: url.ParseQuery stays the
// reference (TestParseFormAgreesWithParseQuery on the corpus's forms,
// FuzzParseFormAgreesWithParseQuery).
type Form struct{ pairs []FormPair }

// FormPair is one name and value of a Form, unescaped.
type FormPair struct{ Name, Value string }

// maxFormParams is url.ParseQuery's default limit on parameters.
const maxFormParams = 10000

var errFormParams = errors.New("number of URL query parameters exceeded limit")

// ParseForm parses body as url.ParseQuery does, refusing what it refuses: a
// semicolon in a pair, a bad %-escape, more than 10 000 parameters. Every
// name and value is unescaped into one buffer in a first pass, then cut from
// it in a second: two allocations however many pairs.
func ParseForm(body []byte) (Form, error) {
	if bytes.Count(body, amp)+1 > maxFormParams {
		return Form{}, errFormParams
	}
	var all strings.Builder
	all.Grow(len(body))
	n := 0
	for rest := body; len(rest) > 0; {
		var seg []byte
		seg, rest, _ = bytes.Cut(rest, amp)
		if bytes.IndexByte(seg, ';') >= 0 {
			return Form{}, errSemicolon
		}
		if len(seg) == 0 {
			continue
		}
		name, value, _ := bytes.Cut(seg, eq)
		if err := unescape(&all, name); err != nil {
			return Form{}, err
		}
		if err := unescape(&all, value); err != nil {
			return Form{}, err
		}
		n++
	}
	s := all.String() // the builder's buffer, not a copy
	pairs := make([]FormPair, 0, n)
	for rest := body; len(rest) > 0; {
		var seg []byte
		seg, rest, _ = bytes.Cut(rest, amp)
		if len(seg) == 0 {
			continue
		}
		name, value, _ := bytes.Cut(seg, eq)
		// Every escape was checked: each "%XX" is one byte.
		nl := len(name) - 2*bytes.Count(name, pct)
		vl := len(value) - 2*bytes.Count(value, pct)
		pairs = append(pairs, FormPair{Name: s[:nl], Value: s[nl : nl+vl]})
		s = s[nl+vl:]
	}
	return Form{pairs: pairs}, nil
}

var (
	amp, eq, pct = []byte("&"), []byte("="), []byte("%")
	errSemicolon = errors.New("invalid semicolon separator in query")
)

// unescape writes b, query-unescaped ("+" is a space), to dst, refusing a
// "%" not followed by two hex digits as url.QueryUnescape does.
func unescape(dst *strings.Builder, b []byte) error {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '%':
			if i+2 >= len(b) || !ishex(b[i+1]) || !ishex(b[i+2]) {
				bad := b[i:]
				if len(bad) > 3 {
					bad = bad[:3]
				}
				return url.EscapeError(bad)
			}
			dst.WriteByte(unhex(b[i+1])<<4 | unhex(b[i+2]))
			i += 2
		case '+':
			dst.WriteByte(' ')
		default:
			dst.WriteByte(c)
		}
	}
	return nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// FormOf is values as a Form (its names in no particular order).
func FormOf(values url.Values) Form {
	var f Form
	for k, vs := range values {
		for _, v := range vs {
			f.pairs = append(f.pairs, FormPair{Name: k, Value: v})
		}
	}
	return f
}

// Get returns the first value of name, or "" (as url.Values.Get).
func (f Form) Get(name string) string {
	for _, p := range f.pairs {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Pairs returns the form's pairs in order; the caller must not change them.
func (f Form) Pairs() []FormPair { return f.pairs }

// Values returns the form as url.Values.
func (f Form) Values() url.Values {
	v := url.Values{}
	for _, p := range f.pairs {
		v[p.Name] = append(v[p.Name], p.Value)
	}
	return v
}

// CheckForm refuses a form with a value or name that is not valid UTF-8
// text without NUL bytes, naming the field (conversation.CheckText).
func CheckForm(form Form) error {
	for _, p := range form.pairs {
		if conversation.CheckText(p.Name) != nil {
			return Errorf(http.StatusBadRequest, "a field name %v", conversation.ErrBadText)
		}
		if conversation.CheckText(p.Value) != nil {
			return Errorf(http.StatusBadRequest, "%s %v", p.Name, conversation.ErrBadText)
		}
	}
	return nil
}
