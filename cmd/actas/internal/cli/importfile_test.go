package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func TestParseImport(t *testing.T) {
	type want struct {
		line  int
		email string
		err   string // substring of the row's error; "" = none
	}
	cases := []struct {
		name, file, text string
		rows             []want
		fail             string // substring of parseImport's error
	}{
		{name: "csv", file: "a.csv",
			text: "email,name,role,org\njane@g.test,Jane,member,Globex\n\nbob@g.test,Bob,MEMBER,Globex\n",
			rows: []want{{2, "jane@g.test", ""}, {4, "bob@g.test", ""}}},
		{name: "csv columns in any order, optional ones", file: "a.csv",
			text: "org, role ,name,email,kind,status,mode,approver\nAcme,support,Sam,sam@a.test,human,pending,request,true\n",
			rows: []want{{2, "sam@a.test", ""}}},
		{name: "csv with a BOM and CRLF", file: "a.csv",
			text: "\xef\xbb\xbfemail,name,role,org\r\njane@g.test,Jane,member,Globex\r\n",
			rows: []want{{2, "jane@g.test", ""}}},
		{name: "csv line numbers count lines, not records", file: "a.csv",
			text: "email,name,role,org\n\"a@g.test\",\"Ann\nSmith\",member,Globex\nb@g.test,Bob,boss,Globex\n",
			rows: []want{{2, "a@g.test", ""}, {4, "b@g.test", "boss"}}},
		{name: "csv bad lines carry their errors", file: "a.csv",
			text: "email,name,role,org,status,approver\n" +
				"a@g.test,Ann,member,Globex\n" + // too few fields
				"b@g.test,Bob,member,Globex,gone,false\n" +
				"c@g.test,Cat,member,Globex,active,maybe\n" +
				"d@g.test,,member,Globex,active,false\n" +
				"e@g.test,E \"x\" y,member,Globex,active,false\n" + // bare quote
				"f@g.test,Fay,member,Globex,active,false\n",
			rows: []want{{2, "", "fields"}, {3, "b@g.test", "gone"}, {4, "", "approver"}, {5, "d@g.test", "name is missing"},
				{6, "", "quote"}, {7, "f@g.test", ""}}},
		{name: "csv without a header", file: "a.csv", text: "jane@g.test,Jane,member,Globex\n",
			fail: "unknown column"},
		{name: "csv missing a column", file: "a.csv", text: "email,name,role\n", fail: "missing org"},
		{name: "csv header only", file: "a.csv", text: "email,name,role,org\n", fail: "no users"},
		{name: "jsonl", file: "a.jsonl",
			text: "{\"email\":\"jane@g.test\",\"name\":\"Jane\",\"role\":\"member\",\"org\":\"Globex\"}\n\n" +
				"{\"email\":\"sam@a.test\",\"name\":\"Sam\",\"role\":\"support\",\"org\":\"Acme\",\"mode\":\"direct\",\"approver\":true,\"kind\":\"human\",\"status\":\"active\"}",
			rows: []want{{1, "jane@g.test", ""}, {3, "sam@a.test", ""}}},
		{name: "jsonl detected by content", file: "people.txt",
			text: "  {\"email\":\"jane@g.test\",\"name\":\"Jane\",\"role\":\"member\",\"org\":\"Globex\"}\n",
			rows: []want{{1, "jane@g.test", ""}}},
		{name: "jsonl bad lines", file: "a.jsonl",
			text: "{\"email\":\"a@g.test\",\"name\":\"A\",\"role\":\"member\",\"org\":\"G\",\"colour\":\"red\"}\n" +
				"{\"email\":\"b@g.test\",\"name\":\"B\",\"role\":\"member\",\"org\":\"G\",\"approver\":\"yes\"}\n" +
				"not json\n" +
				"{\"email\":\"c@g.test\",\"name\":\"C\",\"role\":\"boss\",\"org\":\"G\"} {}\n" +
				"{\"email\":\"d@g.test\",\"name\":\"D\",\"role\":\"boss\",\"org\":\"G\"}\n" +
				"{\"email\":\"e@g.test\",\"name\":\"E\",\"role\":\"member\"}\n",
			rows: []want{{1, "", "colour"}, {2, "", "approver"}, {3, "", "JSON"}, {4, "", "more than one"},
				{5, "d@g.test", "boss"}, {6, "e@g.test", "org is missing"}}},
		{name: "json array", file: "a.json", text: "[{}]", fail: "array"},
		{name: "empty", file: "a.csv", text: " \n\t\n", fail: "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parseImport(tc.file, strings.NewReader(tc.text))
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tc.rows) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(tc.rows), rows)
			}
			for i, w := range tc.rows {
				r := rows[i]
				if r.Line != w.line || r.User.Email != w.email && w.email != "" {
					t.Errorf("row %d = line %d %q, want line %d %q", i, r.Line, r.User.Email, w.line, w.email)
				}
				switch {
				case w.err == "" && r.Err != nil:
					t.Errorf("line %d: unexpected error %v", r.Line, r.Err)
				case w.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), w.err)):
					t.Errorf("line %d: error %v, want one mentioning %q", r.Line, r.Err, w.err)
				}
			}
		})
	}
}

func TestParseImportFields(t *testing.T) {
	rows, err := parseImport("a.csv", strings.NewReader(
		"email,name,role,org,status,kind,mode,approver\n Sam@A.test , Sam S ,Support,Acme,Pending,HUMAN,Request,TRUE\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := core.NewUser{Email: "Sam@A.test", Name: "Sam S", Role: core.RoleSupport, Org: "Acme",
		Status: core.StatusPending, Kind: core.KindHuman, Mode: core.ModeRequest, Approver: true}
	if rows[0].User != want || rows[0].Err != nil {
		t.Errorf("row = %+v, want %+v", rows[0], want)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in       string
		endOfDay bool
		want     string
	}{
		{"2025-05-01", false, "2025-05-01T00:00:00Z"},
		{"2025-05-01", true, "2025-05-02T00:00:00Z"},
		{"2025-05-01T14:00:00+02:00", true, "2025-05-01T12:00:00Z"},
		{"", false, "0001-01-01T00:00:00Z"},
		{"1h", false, "2025-05-01T11:00:00Z"},
		{"90m", true, "2025-05-01T10:30:00Z"},
		{"7d", false, "2025-04-24T12:00:00Z"},
		{"2w", false, "2025-04-17T12:00:00Z"},
	} {
		got, err := parseTime("--since", tc.in, tc.endOfDay, now)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != tc.want {
			t.Errorf("parseTime(%q, %v) = %v, %v; want %s", tc.in, tc.endOfDay, got, err, tc.want)
		}
	}
	for _, bad := range []string{"01/05/2025", "-1h", "0d", "d", "1.5d", "1y"} {
		if _, err := parseTime("--until", bad, false, now); err == nil || !strings.Contains(err.Error(), "--until") {
			t.Errorf("bad time %q: %v", bad, err)
		}
	}
}
