package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

func TestASCII(t *testing.T) {
	for in, want := range map[string]string{
		"Furnace 2":                      "Furnace 2",
		"Zoë Ångström-Øster":             "Zoe Angstrom-Oster",
		"Müller, Weiß & Søn":             "Muller, Weiss & Son",
		"Łukasz Żółć":                    "Lukasz Zolc",
		"Æsir, Œuvre, Þór, Ðan":          "AEsir, OEuvre, THor, Dan",
		"Ștefan Țăran, İpek Işık, Ğ":     "Stefan Taran, Ipek Isik, G",
		"“Pump” ‘A’ – off — soon…":       `"Pump" 'A' - off - soon...`,
		"5 µm ± 0.2, 1 kΩ, 1000 × 2, ½":  "5 um +/- 0.2, 1 kOhm, 1000 x 2, 1/2",
		"a\u00a0b":                       "a b",
		"e\u0301te\u0301":                "ete", // combining accents dropped, letters kept
		"東京大学":                           "",
		"SEM 東京 2":                       "SEM 2",
		"🔬 Raith EBL 🔥":                  "Raith EBL",
		"Chamber\nleak\t":                "Chamber\nleak\t",
		"  spaced  out  ":                "  spaced  out  ",
		"Etch/RIE 2 (東京) <b> & \"q\" \\": `Etch/RIE 2 () <b> & "q" \`,
	} {
		if got := ASCII(in); got != want {
			t.Errorf("ASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

// A file with "screens: true" writes its texts in ASCII unless the
// router is told otherwise; other files keep NEMO's text.
func TestScreensWriteASCII(t *testing.T) {
	const publish = `
    publish:
      - topic: "s/{tool_id}"
        max_bytes: 100
        payload:
          tool: {field: tool_name, default: {state: name, default: "Tool {tool_id}"}, fit: true}
          user: {person: user_name}
          summary: {field: d, first_line: true, max_chars: 10}
          label: "Étuve – {payload.room}"
`
	screens := mustParse(t, "screens: true\nrules:\n  - name: r"+publish)
	plain := mustParse(t, "rules:\n  - name: r"+publish)
	utf8 := Settings{DisplayUTF8: true}
	for _, tc := range []struct {
		name     string
		set      *Set
		settings Settings
		payload  string
		state    *statusv1.Tool
		want     string
	}{
		{"screens", screens, Settings{}, `{"tool_id":7,"tool_name":"Gravure Étuve","user_name":"Zoë Weiß (Admin)","d":"Überdruck im Kessel\nx","room":"B½"}`, nil,
			`{"tool":"Gravure Etuve","user":"Zoe Weiss","summary":"Uberdru...","label":"Etuve - B1/2"}`},
		{"screens cut to fit, with ...", screens, Settings{}, `{"tool_id":7,"tool_name":"Gravure Étuve Numéro Deux, Salle Blanche Nord","user_name":"Zoë","d":"","room":""}`, nil,
			`{"tool":"Gravure Etuve Numero Deux, Salle Blanc...","user":"Zoe","summary":"","label":"Etuve - "}`},
		{"name with nothing left: the state's", screens, Settings{}, `{"tool_id":7,"tool_name":"東京エッチャー","user_name":"李","d":"","room":""}`, &statusv1.Tool{Id: 7, Name: "Ätzer"},
			`{"tool":"Atzer","user":"","summary":"","label":"Etuve - "}`},
		{"name with nothing left anywhere: Tool id", screens, Settings{}, `{"tool_id":7,"tool_name":"東京エッチャー","user_name":"李 (Li)","d":"","room":""}`, &statusv1.Tool{Id: 7, Name: "東京", User: "Ada"},
			`{"tool":"Tool 7","user":"","summary":"","label":"Etuve - "}`},
		{"screens in UTF-8", screens, utf8, `{"tool_id":7,"tool_name":"Gravure Étuve","user_name":"Zoë Weiß (Admin)","d":"Überdruck im Kessel\nx","room":"B½"}`, nil,
			`{"tool":"Gravure Étuve","user":"Zoë Weiß","summary":"Überdruck…","label":"Étuve – B½"}`},
		{"screens in UTF-8 cut to fit, with …", screens, utf8, `{"tool_id":7,"tool_name":"Gravure Étuve Numéro Deux, Salle Blanche Nord","user_name":"Zoë","d":"","room":""}`, nil,
			`{"tool":"Gravure Étuve Numéro Deux, Salle…","user":"Zoë","summary":"","label":"Étuve – "}`},
		{"not for screens", plain, Settings{}, `{"tool_id":7,"tool_name":"東京","user_name":"Zoë Weiß (Admin)","d":"Überdruck im Kessel\nx","room":"B½"}`, nil,
			`{"tool":"東京","user":"Zoë Weiß","summary":"Überdruck…","label":"Étuve – B½"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := tc.set.WithSettings(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			msgs, _, err := set.Apply(event("nemo/tools/7/enabled", tc.payload), tc.state)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(msgs[0].GetPayload())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if a, b := screens.Version(), mustWith(t, screens, utf8).Version(); a == b {
		t.Error("the version does not tell the screens' texts are in UTF-8")
	}
}
