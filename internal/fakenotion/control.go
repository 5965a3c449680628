package fakenotion

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ControlHandler returns a plain-HTTP handler that drives the fake from
// outside the process (a Node script, a shell), to be served on a separate
// loopback port:
//
//	POST /add?token=T                       AddToken(T)
//	POST /revoke?token=T                    Revoke(T)
//	POST /fail?n=N&status=S&retry_after=R   FailNext(N, S, R)
//	POST /drop?n=N                          DropNext(N)
//	POST /cdn?n=N&status=S                  CDNErrorNext(N, S)
//	POST /redirect?n=N&status=S&location=L  RedirectNext(N, S, L)
//	POST /delay?d=250ms                     SetDelay(d)
//	POST /oauth?client_id=&client_secret=&refresh_token=   EnableOAuth
//	POST /reset                             Reset()
//	GET  /applied                           Applied() as JSON
//	GET  /requests                          Requests() as JSON
//	GET  /hits?path=/v1/users/me            {"path": ..., "hits": n}
//	GET  /refreshes                         {"refreshes": n}
//
// POSTs answer 204; bad parameters answer 400 with a text reason. It has no
// authentication: serve it on loopback only.
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add", tokenAction(s.AddToken))
	mux.HandleFunc("POST /revoke", tokenAction(s.Revoke))
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		n, okN := intParam(w, r, "n")
		if !okN {
			return
		}
		status, okS := intParam(w, r, "status")
		if !okS {
			return
		}
		s.FailNext(n, status, r.URL.Query().Get("retry_after"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, r *http.Request) {
		if n, ok := intParam(w, r, "n"); ok {
			s.DropNext(n)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /cdn", func(w http.ResponseWriter, r *http.Request) {
		n, okN := intParam(w, r, "n")
		if !okN {
			return
		}
		if status, ok := intParam(w, r, "status"); ok {
			s.CDNErrorNext(n, status)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /redirect", func(w http.ResponseWriter, r *http.Request) {
		n, okN := intParam(w, r, "n")
		if !okN {
			return
		}
		status, okS := intParam(w, r, "status")
		if !okS {
			return
		}
		if location, ok := requiredParam(w, r, "location"); ok {
			s.RedirectNext(n, status, location)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /delay", func(w http.ResponseWriter, r *http.Request) {
		raw, ok := requiredParam(w, r, "d")
		if !ok {
			return
		}
		d, err := time.ParseDuration(raw)
		if err != nil {
			http.Error(w, fmt.Sprintf("parameter d: %v", err), http.StatusBadRequest)
			return
		}
		s.SetDelay(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /oauth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.EnableOAuth(q.Get("client_id"), q.Get("client_secret"), q.Get("refresh_token"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /applied", func(w http.ResponseWriter, _ *http.Request) {
		writeControlJSON(w, s.Applied())
	})
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) {
		writeControlJSON(w, s.Requests())
	})
	mux.HandleFunc("GET /hits", func(w http.ResponseWriter, r *http.Request) {
		if path, ok := requiredParam(w, r, "path"); ok {
			writeControlJSON(w, map[string]any{"path": path, "hits": s.Hits(path)})
		}
	})
	mux.HandleFunc("GET /refreshes", func(w http.ResponseWriter, _ *http.Request) {
		writeControlJSON(w, map[string]int{"refreshes": s.Refreshes()})
	})
	return mux
}

// requiredParam reads a non-empty query parameter, or answers 400.
func requiredParam(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		http.Error(w, "missing parameter "+name, http.StatusBadRequest)
		return "", false
	}
	return v, true
}

// intParam reads a non-negative integer query parameter, or answers 400.
func intParam(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	raw, ok := requiredParam(w, r, name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		http.Error(w, fmt.Sprintf("parameter %s: want a non-negative integer, got %q", name, raw), http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

// writeControlJSON answers v as JSON.
func writeControlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// tokenAction is a control endpoint that does act with its required
// "token" parameter and answers 204.
func tokenAction(act func(tok string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := requiredParam(w, r, "token"); ok {
			act(tok)
			w.WriteHeader(http.StatusNoContent)
		}
	}
}
