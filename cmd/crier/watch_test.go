package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeWatch: crier serve mounts the newsroom next to the website,
// whose /{town}/{page} paths keep working, and a viewer follows a notice
// published through the API on its page and its event stream.
func TestServeWatch(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	const password = "Hellweg-Börde-Soest-2026"
	if code, _, errOut := runIn(t, nil, password+"\n", "users", "add", "vera", "--role", "viewer", "--towns", "soest",
		"--password-stdin", "--config", "../../config.example.yaml", "--data-dir", srv.DataDir); code != exitOK {
		t.Fatalf("users add: exit %d\n%s", code, errOut)
	}
	res, err := srv.Client.Publish(context.Background(), benchNotice("soest", "werl"), "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID

	c := watchLogin(t, srv.URL, "vera", password)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return res, string(b)
	}
	if res, body := get("/admin/announcements"); res.StatusCode != http.StatusOK || !strings.Contains(body, id) {
		t.Fatalf("list: %s\n%s", res.Status, body)
	}
	res2, body := get("/admin/announcements/" + id)
	if res2.StatusCode != http.StatusOK || !strings.Contains(body, "Stadt Soest") || strings.Contains(body, "Stadt Werl") {
		t.Fatalf("page: %s\n%s", res2.Status, body)
	}
	watchFollow(t, c, srv.URL, id) // until every delivery is final: the exercise mode's sink takes them all
	if res, _ := get("/soest/subscribe"); res.StatusCode != http.StatusOK {
		t.Errorf("the site's subscribe page next to the newsroom: %s", res.Status)
	}
}
