package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/actas/actas/core"
)

// Import files hold one user per line, as JSON Lines or as CSV with a
// header. Every line becomes a core.ImportRow numbered as in the file; a
// line that cannot be read carries its error, so that core can report
// every bad line together.

// importColumns are the fields a user line may have; the first four are
// required.
var importColumns = []string{"email", "name", "role", "org", "status", "kind", "mode", "approver"}

const requiredColumns = 4

// importFormat tells JSON Lines from CSV: by extension, else by the first
// character that is not white space.
func importFormat(name string, first byte) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	if first == '{' || first == '[' {
		return "jsonl"
	}
	return "csv"
}

// parseImport reads an import file named name from r.
func parseImport(name string, r io.Reader) ([]core.ImportRow, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3) // spreadsheets like to start CSV with a BOM
	}
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, err
	}
	if first == 0 {
		return nil, errorf("%s is empty: no users to import", name)
	}
	var rows []core.ImportRow
	if importFormat(name, first) == "csv" {
		rows, err = parseCSV(br)
	} else {
		if first == '[' {
			return nil, errorf("%s is a JSON array; give one JSON object per line (JSON Lines)", name)
		}
		rows, err = parseJSONL(br)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, errorf("%s has no users to import", name)
	}
	return rows, nil
}

// firstNonSpace peeks at the first byte that is not white space; 0 at EOF.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) == n {
			if c := b[n-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return c, nil
			}
			if n < br.Size() {
				continue
			}
			return 0, errorf("the file starts with too much white space")
		}
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// importLine is one user's fields as read from a line.
type importLine struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Org      string `json:"org"`
	Status   string `json:"status"`
	Kind     string `json:"kind"`
	Mode     string `json:"mode"`
	Approver bool   `json:"approver"`
}

// newUser checks what can be checked without the database; core checks
// the rest (email form, org, duplicates) in the import transaction.
func (l importLine) newUser() (core.NewUser, error) {
	nu := core.NewUser{Email: strings.TrimSpace(l.Email), Name: strings.TrimSpace(l.Name),
		Org: strings.TrimSpace(l.Org), Approver: l.Approver}
	for _, f := range []struct{ name, val string }{{"email", nu.Email}, {"name", nu.Name}, {"role", l.Role}, {"org", nu.Org}} {
		if strings.TrimSpace(f.val) == "" {
			return nu, fmt.Errorf("%s is missing", f.name)
		}
	}
	var err error
	if nu.Role, err = core.ParseRole(l.Role); err != nil {
		return nu, err
	}
	if l.Status != "" {
		if nu.Status, err = core.ParseStatus(l.Status); err != nil {
			return nu, err
		}
	}
	if l.Kind != "" {
		if nu.Kind, err = core.ParseKind(l.Kind); err != nil {
			return nu, err
		}
	}
	if l.Mode != "" {
		if nu.Mode, err = core.ParseMode(l.Mode); err != nil {
			return nu, err
		}
	}
	return nu, nil
}

func rowOf(line int, l importLine) core.ImportRow {
	nu, err := l.newUser()
	return core.ImportRow{Line: line, User: nu, Err: err}
}

func parseJSONL(br *bufio.Reader) ([]core.ImportRow, error) {
	var rows []core.ImportRow
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			rows = append(rows, parseJSONLine(line, b))
		}
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func parseJSONLine(line int, b []byte) core.ImportRow {
	var l importLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&l)
	if err == nil && dec.More() {
		err = errors.New("more than one value on the line")
	}
	if err != nil {
		return core.ImportRow{Line: line, Err: jsonLineError(err)}
	}
	return rowOf(line, l)
}

// jsonLineError says what is wrong with a JSON line in a person's words.
func jsonLineError(err error) error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ) && typ.Field == "approver":
		return errors.New("approver must be true or false")
	case errors.As(err, &typ):
		return fmt.Errorf("%s must be a string", typ.Field)
	case errors.As(err, &syn):
		return fmt.Errorf("not a JSON object: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		f := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Errorf("unknown field %s; fields are %s", f, strings.Join(importColumns, ", "))
	}
	return fmt.Errorf("not a JSON object: %v", err)
}

func parseCSV(br *bufio.Reader) ([]core.ImportRow, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("line 1: cannot read the header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range importColumns {
			known = known || c == h
		}
		switch {
		case !known:
			return nil, fmt.Errorf("line 1: unknown column %q; the header must name email, name, role and org, and may add status, kind, mode and approver", header[i])
		case col[h] != 0:
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		col[h] = i + 1 // 0 = absent
	}
	var missing []string
	for _, c := range importColumns[:requiredColumns] {
		if col[c] == 0 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("line 1 must be a header naming the columns email, name, role and org (missing %s)",
			strings.Join(missing, ", "))
	}

	var rows []core.ImportRow
	lastErrLine := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.StartLine == lastErrLine {
				return nil, fmt.Errorf("line %d: %v", pe.StartLine, pe.Err)
			}
			lastErrLine = pe.StartLine
			rows = append(rows, core.ImportRow{Line: pe.StartLine, Err: pe.Err})
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			rows = append(rows, core.ImportRow{Line: line,
				Err: fmt.Errorf("%d fields, but the header has %d", len(rec), len(header))})
			continue
		}
		get := func(c string) string {
			if i := col[c]; i > 0 {
				return strings.TrimSpace(rec[i-1])
			}
			return ""
		}
		l := importLine{Email: get("email"), Name: get("name"), Role: get("role"), Org: get("org"),
			Status: get("status"), Kind: get("kind"), Mode: get("mode")}
		if v := get("approver"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				rows = append(rows, core.ImportRow{Line: line, Err: fmt.Errorf("approver must be true or false, not %q", v)})
				continue
			}
			l.Approver = b
		}
		rows = append(rows, rowOf(line, l))
	}
}
