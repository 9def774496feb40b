package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the console token's file in the node home.
const TokenFile = "console.token"

// cookieName carries the token after a login through the form.
const cookieName = "cohort_console"

// Loopback reports whether addr (host:port) binds loopback only. An empty
// host or 0.0.0.0 binds every interface.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadOrCreateToken returns the token in path, creating it (32 random
// bytes, hex, mode 0600) on first use. A token file readable by anyone but
// its owner is refused.
func LoadOrCreateToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("console token: %w", err)
		}
		tok := hex.EncodeToString(b)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("console token: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", fmt.Errorf("console token: %w", err)
		}
		if _, err := f.WriteString(tok + "\n"); err != nil {
			f.Close()
			return "", fmt.Errorf("console token: %w", err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("console token: %w", err)
		}
		return tok, nil
	}
	if err != nil {
		return "", fmt.Errorf("console token: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("console token: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("console token %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	tok := strings.TrimSpace(string(raw))
	if len(tok) < 32 {
		return "", fmt.Errorf("console token %s is shorter than 32 characters", path)
	}
	return tok, nil
}

// tokenOK compares a presented token with the expected one in constant time
// (over their hashes, so that the length leaks nothing either).
func tokenOK(presented, want string) bool {
	a := sha256.Sum256([]byte(presented))
	b := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && presented != ""
}

// presentedToken is the token of a request: its bearer header or its cookie.
func presentedToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value
	}
	return ""
}

// requireToken wraps h: requests without the token get 401 (the login form
// for a browser asking for a page).
func (s *Server) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" || r.URL.Path == "/static/style.css" || tokenOK(presentedToken(r), s.token) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="cohort console"`)
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{Next: safeNext(r.URL.RequestURI())})
	})
}

type loginPage struct {
	Next  string
	Error string
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || next == "/login" {
		return "/"
	}
	return next
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, "login", loginPage{Next: "/", Error: "bad form"})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !tokenOK(strings.TrimSpace(r.PostForm.Get("token")), s.token) {
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{Next: next, Error: "wrong token"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, next, http.StatusSeeOther)
}
