package jsonscan

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

var stringParts = []string{"a", "Z", "12", " ", "é", "\xff", "\xc3", "\x01", "\x7f", `"`, `\"`, `\\`, `\/`, `\'`, `\x`, `\`, `\n`, `\t`, `\b`, `\f`, `\r`, `\u00e9`, `\u00E9`, `\u12`, `\uzzzz`, `\u0041`, `\ud800`, `\udc00`, `\ud83d\ude00`, `\ud83d\u0041`, `\ud83d\ud83d`, `\ud83d\uzzzz`, `\u0000`, `\u2028`, "\u2028", "<&>", "\xed\xa0\x80", "\xf4\x90\x80\x80"}

// TestUnquoteReadsStringsAsUnmarshalDoes holds Unquote and Plain to
// json.Unmarshal into a string on random strings, valid or not.
func TestUnquoteReadsStringsAsUnmarshalDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		s := []byte{'"'}
		for range rng.IntN(6) {
			s = append(s, stringParts[rng.IntN(len(stringParts))]...)
		}
		if rng.IntN(20) > 0 {
			s = append(s, '"')
		}
		var want string
		err := json.Unmarshal(s, &want)
		got, ok := Unquote(nil, s)
		// Unquote wants exactly the string: no space around it.
		if ok && (err != nil || string(got) != want) || !ok && err == nil && s[len(s)-1] == '"' {
			t.Fatalf("Unquote(%q) = %q, %v; Unmarshal reads %q, %v", s, got, ok, want, err)
		}
		if Plain(s) && (err != nil || want != string(s[1:len(s)-1])) {
			t.Fatalf("Plain(%q), but Unmarshal reads %q, %v", s, want, err)
		}
		if end, ok := Value(s, 0, 8); ok && !json.Valid(s[:end]) {
			t.Fatalf("Value(%q) = %d, true; json.Valid says no", s, end)
		}
	}
}

// TestObjectAcceptsOnlyValidJSON: whatever Object vouches for (up to the
// end it gives), encoding/json accepts too, members at the offsets it gives.
func TestObjectAcceptsOnlyValidJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a" : [1, {"b": "c"}] , "d":-0.5e+3}`, `{"a":1,}`, `{"a":01}`, `{"a":[1,}]}`, `{"a":"\q"}`,
		`{"a":1`, `{"a":nul}`, `{"a":[]]}`, `{"a":{"b":1}}}`, `{"a\u0041":1}`, "{\"\xff\":1}", `{"a":-}`, `{"a":1.e1}`,
	} {
		ms, end, ok := Object([]byte(s), 0, 8, nil)
		if ok && !json.Valid([]byte(s[:end])) {
			t.Errorf("Object(%s) vouches for %s, json.Valid says no", s, s[:end])
		}
		if ok {
			s := s[:end]
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatal(err)
			}
			for _, mem := range ms {
				if string(m[s[mem.KeyStart:mem.KeyEnd]]) != s[mem.ValueStart:mem.ValueEnd] {
					t.Errorf("%s: member %s = %s, encoding/json reads %s", s, s[mem.KeyStart:mem.KeyEnd], s[mem.ValueStart:mem.ValueEnd], m[s[mem.KeyStart:mem.KeyEnd]])
				}
			}
		}
	}
}

// TestValueAgreesWithValid: on random documents and near misses, Value
// vouches for a value exactly when json.Valid accepts it (all of them
// nest less deep than the bound here).
func TestValueAgreesWithValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "{}[]\":,\\ u0129eE.-+tfnrl\t\n\xff\x01"
	n := 100000
	if testing.Short() {
		n = 10000
	}
	valids := 0
	defer func() { t.Logf("%d documents, %d of them valid", n, valids) }()
	for range n {
		doc := randomDoc(rng, 0)
		for range rng.IntN(3) {
			c := alphabet[rng.IntN(len(alphabet))]
			switch i := rng.IntN(len(doc) + 1); rng.IntN(3) {
			case 0:
				doc = append(doc[:i], append([]byte{c}, doc[i:]...)...)
			case 1:
				if i < len(doc) {
					doc = append(doc[:i], doc[i+1:]...)
				}
			default:
				if i < len(doc) {
					doc[i] = c
				}
			}
		}
		i := SkipSpace(doc, 0)
		end, ok := Value(doc, i, 16)
		whole := ok && SkipSpace(doc, end) == len(doc)
		valid := json.Valid(doc)
		if valid {
			valids++
		}
		if whole != valid {
			t.Fatalf("%q: Value reads it whole %v (end %d, ok %v); json.Valid %v", doc, whole, end, ok, valid)
		}
	}
}

func randomDoc(rng *rand.Rand, depth int) []byte {
	sp := func() string { return []string{"", "", " ", "\n\t"}[rng.IntN(4)] }
	switch k := rng.IntN(8); {
	case k < 2 && depth < 5:
		open, close := "[", "]"
		if k == 0 {
			open, close = "{", "}"
		}
		b := []byte(sp() + open)
		for j := range rng.IntN(4) {
			if j > 0 {
				b = append(b, ","...)
			}
			b = append(b, sp()...)
			if k == 0 {
				b = append(b, `"k`+stringParts[rng.IntN(len(stringParts))]+`"`+sp()+":"...)
			}
			b = append(b, randomDoc(rng, depth+1)...)
		}
		return append(b, sp()+close+sp()...)
	case k < 4:
		return []byte(`"` + stringParts[rng.IntN(len(stringParts))] + stringParts[rng.IntN(len(stringParts))] + `"`)
	case k < 6:
		return []byte([]string{"0", "-0", "12", "12.0", "1e1", "1E+2", "-1.5e-3", "01", "1.", ".5", "-", "1e", "123456789012345678901234567890"}[rng.IntN(13)])
	}
	return []byte([]string{"true", "false", "null", "tru", "nul"}[rng.IntN(5)])
}
