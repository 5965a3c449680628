// Package rewrite holds the pure decision logic of notion-proxy: functions
// from the facts of one request or response to what the proxy should do with
// it.
//
// It answers questions such as "is this Notion's invalid-token answer"
// ([IsInvalidToken]), "may this call be sent again after a 5xx"
// ([IsRetrySafe]), "how long should the proxy wait before the next attempt"
// ([RetryAfter], [Backoff]) and "which headers go upstream"
// ([Outgoing.Apply]). It also builds the bodies the proxy answers with itself
// ([ErrorBody], [InvalidTokenBody]) and names tokens without revealing them
// ([Fingerprint]).
//
// The package owns no sockets, clocks, goroutines or mutable package state:
// the current time and any randomness are passed in by the caller, and the
// only value a function changes is the [net/http.Header] it is explicitly
// given to rewrite. Every function is therefore safe for concurrent use and
// gives the same answer for the same arguments. Sockets, state and time live
// in package proxy, which calls into this one.
package rewrite
