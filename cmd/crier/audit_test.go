package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestAuditCLI: next to a running serve, the changes of a shell's users
// command and of an editor's publish are in the trail with who did them;
// only the admin exports it, as CSV with a header, as JSON and as a
// table; crier audit verify finds it intact while serve runs, and, on the
// file, an entry changed, an entry deleted and the newest entries deleted.
func TestAuditCLI(t *testing.T) {
	const config = "../../config.example.yaml"
	m, _, stderr := testMain(nil)
	srv, stop := startServe(t, m, stderr, config, newDataDir(t))
	t.Cleanup(stop)
	local := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, map[string]string{"CRIER_LANG": "en"}, stdin, append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	if code, _, errOut := local("Mülltonne am Dienstag\n", "users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"); code != exitOK {
		t.Fatalf("users add: exit %d\n%s", code, errOut)
	}
	code, token, errOut := local("", "tokens", "add", "anna")
	if code != exitOK {
		t.Fatalf("tokens add: exit %d\n%s", code, errOut)
	}
	anna := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": strings.TrimSpace(token), "CRIER_LANG": "en"}
	file := filepath.Join(t.TempDir(), "notice.md")
	os.WriteFile(file, []byte("---\ntitle: Wasser abkochen\ntowns: [soest]\n---\nBitte Leitungswasser abkochen.\n"), 0o600)
	if code, out, errOut := run(t, anna, "publish", file); code != exitOK {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, anna, "audit"); code != exitFailure || !strings.Contains(errOut, "may not admin") {
		t.Errorf("audit as editor: exit %d\n%s%s", code, out, errOut)
	}

	// CSV, with the shell's user for the users and tokens commands.
	code, out, errOut := local("", "audit", "--format", "csv")
	if code != exitOK {
		t.Fatalf("audit csv: exit %d\n%s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	shell := crier.AuditShell
	if u, err := user.Current(); err == nil {
		shell += ":" + u.Username
	}
	want := [][]string{
		{"seq", "actor", "role", "action", "towns"},
		{"1", shell, "", crier.AuditUserAdd, "soest"},
		{"2", shell, "", crier.AuditTokenAdd, ""},
		{"3", "anna", "editor", crier.EventPublished, "soest"},
	}
	for i, r := range rows {
		got := []string{r[0], r[2], r[3], r[6], r[8]}
		if strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("csv row %d = %q, want %q", i, got, want[i])
		}
	}

	// JSON, filtered by user.
	code, out, errOut = local("", "audit", "--format", "json", "--user", "anna")
	var es []*crier.AuditEntry
	if err := json.Unmarshal([]byte(out), &es); code != exitOK || err != nil || len(es) != 1 || es[0].Actor != "anna" {
		t.Fatalf("audit json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if es[0].ComputeHash() != es[0].Hash {
		t.Errorf("the exported entry does not give its hash: %+v", es[0])
	}
	code, out, _ = local("", "audit", "--action", "user.", "--since", "2000-01-01")
	if code != exitOK || !strings.Contains(out, crier.AuditUserAdd) || strings.Contains(out, crier.EventPublished) {
		t.Errorf("audit table: exit %d\n%s", code, out)
	}
	if code, _, errOut := local("", "audit", "--format", "xml"); code != exitInvalid {
		t.Errorf("--format xml: exit %d\n%s", code, errOut)
	}

	// Verify while serve runs.
	code, out, errOut = local("", "audit", "verify")
	head := "3:" + es[0].Hash
	if code != exitOK || !strings.Contains(out, "Audit trail intact: 3 entries, head "+head) {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := local("", "audit", "verify", "--known", head, "--known", "1:"+strings.Repeat("0", 64)); code != exitFailure ||
		!strings.Contains(out, "broken at entry no. 1: it no longer has the hash that was noted") {
		t.Errorf("verify with a wrong known head: exit %d\n%s%s", code, out, errOut)
	}

	stop()
	db, err := os.ReadFile(filepath.Join(srv.DataDir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sql, want string
		rehash          bool
	}{
		{"changed", `UPDATE audit SET towns = 'werl' WHERE seq = 1`, "broken at entry no. 1: its content does not give its hash (changed)", false},
		{"deleted", `DELETE FROM audit WHERE seq = 2`, "broken at entry no. 2: the entry is missing (deleted)", false},
		{"newest deleted", `DELETE FROM audit WHERE seq = 3`, "broken at entry no. 3: the head does not name the newest entry", false},
		// Whoever rewrites the whole chain and its head passes the chain's
		// own check: only the head noted before tells.
		{"rewritten", `UPDATE audit SET towns = 'werl' WHERE seq = 1`, "broken at entry no. 3: it no longer has the hash that was noted", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, dbFile)
			if err := os.WriteFile(path, db, 0o600); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			if tc.rehash {
				rehash(t, raw)
				if code, out, _ := runIn(t, nil, "", "audit", "verify", "--config", config, "--data-dir", dir); code != exitOK {
					t.Errorf("the rewritten chain does not pass its own check: exit %d\n%s", code, out)
				}
			}
			raw.Close()
			code, out, errOut := runIn(t, map[string]string{"CRIER_LANG": "en"}, "", "audit", "verify", "--known", head,
				"--config", config, "--data-dir", dir)
			if code != exitFailure || !strings.Contains(out, tc.want) {
				t.Errorf("verify: exit %d, want %d and %q\n%s%s", code, exitFailure, tc.want, out, errOut)
			}
		})
	}
}

// rehash recomputes every hash of the trail and the head, as someone
// with write access to the file could.
func rehash(t *testing.T, raw *sql.DB) {
	t.Helper()
	rows, err := raw.Query(`SELECT seq, at, actor, role, token, client, action, subject, towns, detail FROM audit ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var es []*crier.AuditEntry
	for rows.Next() {
		var e crier.AuditEntry
		var at int64
		var role, towns, detail string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &role, &e.Token, &e.Client, &e.Action, &e.Subject, &towns, &detail); err != nil {
			t.Fatal(err)
		}
		e.Time, e.Role = time.Unix(0, at), crier.Role(role)
		if towns != "" {
			e.Towns = strings.Split(towns, ",")
		}
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			t.Fatal(err)
		}
		es = append(es, &e)
	}
	rows.Close()
	prev := crier.ZeroHash
	for _, e := range es {
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		if _, err := raw.Exec(`UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?`, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`UPDATE audit_head SET hash = ?`, prev); err != nil {
		t.Fatal(err)
	}
}
