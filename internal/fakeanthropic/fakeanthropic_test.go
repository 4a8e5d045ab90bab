package fakeanthropic

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, srv *httptest.Server, path, body string, h map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestFakeChecksCredentials(t *testing.T) {
	fake := &Server{APIKey: "k", AccessToken: "a", RefreshToken: "r"}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	if code, body := post(t, srv, "/v1/messages", `{"model":"m"}`, map[string]string{"x-api-key": "k"}); code != 200 || !strings.Contains(body, "Hello from the fake API") {
		t.Errorf("right key: %d %s", code, body)
	}
	if code, body := post(t, srv, "/v1/messages", `{"model":"m","stream":true}`, map[string]string{"Authorization": "Bearer a", "anthropic-beta": "x,oauth-2025-04-20"}); code != 200 ||
		!strings.Contains(body, "event: message_start") || !strings.Contains(body, "event: message_stop") {
		t.Errorf("OAuth, streamed: %d %s", code, body)
	}
	if len(fake.Failures()) != 0 {
		t.Fatalf("failures: %v", fake.Failures())
	}
	for _, h := range []map[string]string{{"x-api-key": "wrong"}, {"Authorization": "Bearer a"}, {}} {
		if code, _ := post(t, srv, "/v1/messages", `{}`, h); code != 401 {
			t.Errorf("%v: %d, want 401", h, code)
		}
	}
	if len(fake.Failures()) != 3 {
		t.Errorf("failures recorded: %v", fake.Failures())
	}
	// Refresh tokens work once.
	if code, body := post(t, srv, "/v1/oauth/token", `{"grant_type":"refresh_token","refresh_token":"r"}`, nil); code != 200 || !strings.Contains(body, "sk-ant-oat01-fake-access-1") {
		t.Errorf("refresh: %d %s", code, body)
	}
	if code, _ := post(t, srv, "/v1/oauth/token", `{"grant_type":"refresh_token","refresh_token":"r"}`, nil); code != 400 {
		t.Errorf("a refresh token used twice: %d", code)
	}
}
