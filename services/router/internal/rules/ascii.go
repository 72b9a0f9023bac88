package rules

import (
	"strings"
	"unicode/utf8"
)

// ASCII writes s with only the characters a tool screen's font has:
// letters of Latin-1 and Latin Extended-A lose their accents (é → e,
// ß → ss, Ł → L), typographic punctuation becomes its plain form
// (“” → ", – → -, … → ...), and every other non-ASCII character is
// dropped, and so is a space that would then be doubled or at an end
// ("SEM 東京 2" is "SEM 2").
func ASCII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dropped := false // a character was dropped since the last one written
	for _, r := range s {
		out, ok := string(r), r < utf8.RuneSelf
		if !ok {
			out, ok = asciiOf[r]
		}
		if !ok {
			dropped = true
			continue
		}
		if dropped && strings.HasPrefix(out, " ") && (b.Len() == 0 || strings.HasSuffix(b.String(), " ")) {
			out = out[1:]
		}
		b.WriteString(out)
		dropped = dropped && out == ""
	}
	out := b.String()
	if dropped {
		out = strings.TrimRight(out, " ")
	}
	return out
}

// asciiOf is the ASCII form of the non-ASCII characters that have one.
var asciiOf = func() map[rune]string {
	m := map[rune]string{}
	for _, g := range asciiForms {
		for _, r := range g.from {
			m[r] = g.to
		}
	}
	return m
}()

// asciiForms lists, for each ASCII form, the characters written so: the
// letters of Latin-1 Supplement and Latin Extended-A (with the Romanian
// Ș and Ț), the symbols a lab writes in names and problems, and the
// punctuation editors put in for the plain one.
var asciiForms = []struct{ to, from string }{
	{"A", "ÀÁÂÃÄÅĀĂĄ"}, {"a", "àáâãäåāăąª"},
	{"AE", "Æ"}, {"ae", "æ"},
	{"C", "ÇĆĈĊČ"}, {"c", "çćĉċč¢"},
	{"D", "ÐĎĐ"}, {"d", "ðďđ"},
	{"E", "ÈÉÊËĒĔĖĘĚ"}, {"e", "èéêëēĕėęě"},
	{"G", "ĜĞĠĢ"}, {"g", "ĝğġģ"},
	{"H", "ĤĦ"}, {"h", "ĥħ"},
	{"I", "ÌÍÎÏĨĪĬĮİ"}, {"i", "ìíîïĩīĭįı"},
	{"IJ", "Ĳ"}, {"ij", "ĳ"},
	{"J", "Ĵ"}, {"j", "ĵ"},
	{"K", "Ķ"}, {"k", "ķĸ"},
	{"L", "ĹĻĽĿŁ"}, {"l", "ĺļľŀł"},
	{"N", "ÑŃŅŇŊ"}, {"n", "ñńņňŋ"}, {"'n", "ŉ"},
	{"O", "ÒÓÔÕÖØŌŎŐ"}, {"o", "òóôõöøōŏőº"},
	{"OE", "Œ"}, {"oe", "œ"},
	{"R", "ŔŖŘ"}, {"r", "ŕŗř"},
	{"S", "ŚŜŞŠȘ"}, {"s", "śŝşšșſ"}, {"ss", "ß"},
	{"T", "ŢŤŦȚ"}, {"t", "ţťŧț"},
	{"TH", "Þ"}, {"th", "þ"},
	{"U", "ÙÚÛÜŨŪŬŮŰŲ"}, {"u", "ùúûüũūŭůűųµμ"},
	{"W", "Ŵ"}, {"w", "ŵ"},
	{"Y", "ÝŶŸ"}, {"y", "ýÿŷ"},
	{"Z", "ŹŻŽ"}, {"z", "źżž"},
	{" ", "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"},
	{"'", "‘’‚‛′´"}, {`"`, "“”„‟″"},
	{"-", "‐‑‒–—―−¬"}, {"...", "…"}, {"*", "•"}, {".", "·"},
	{"<", "‹"}, {">", "›"}, {"<<", "«"}, {">>", "»"},
	{"!", "¡"}, {"?", "¿"}, {"|", "¦"},
	{"x", "×"}, {"/", "÷"}, {"+/-", "±"},
	{"1", "¹"}, {"2", "²"}, {"3", "³"},
	{"1/4", "¼"}, {"1/2", "½"}, {"3/4", "¾"},
	{"(c)", "©"}, {"(R)", "®"}, {"TM", "™"},
	{"EUR", "€"}, {"GBP", "£"}, {"JPY", "¥"},
	{"Ohm", "Ω\u2126"},
	{"->", "→"}, {"<-", "←"}, {"<=", "≤"}, {">=", "≥"}, {"!=", "≠"}, {"~", "≈"},
}
