package lookml

import (
	"strings"
	"unicode/utf8"
)

// quote writes s as a LookML string: one line, in double quotes.
func quote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ").Replace(s)
	return `"` + s + `"`
}

// acronyms are the words of column names an analyst reads in capitals.
var acronyms = map[string]string{
	"api": "API", "cpd": "CPD", "dfe": "DfE", "dqt": "DQT", "dttp": "DTTP", "ebacc": "EBacc", "ecf": "ECF",
	"ect": "ECT", "hesa": "HESA", "id": "ID", "iqts": "IQTS", "itt": "ITT", "qts": "QTS", "trn": "TRN",
	"trs": "TRS", "ukprn": "UKPRN", "urn": "URN", "uuid": "UUID", "vat": "VAT",
}

// lookerLabel is the label Looker gives a field of that name by itself:
// each word capitalised.
func lookerLabel(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// humanize is the label a field should have: Looker's, with acronyms in
// capitals (TRN, not Trn). A field gets an explicit label only where the
// two differ.
func humanize(name string) string {
	words := strings.Split(lookerLabel(name), " ")
	for i, w := range words {
		if a, ok := acronyms[strings.ToLower(w)]; ok {
			words[i] = a
		}
	}
	return strings.Join(words, " ")
}

// comment writes text as # comment lines of at most about 100 characters.
func comment(b *strings.Builder, indent, text string) {
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && utf8.RuneCountInString(indent+"# "+line+" "+w) > 100 {
			b.WriteString(indent + "# " + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		b.WriteString(indent + "# " + line + "\n")
	}
}
