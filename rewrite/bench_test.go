package rewrite_test

import (
	"net/http"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func BenchmarkApply(b *testing.B) {
	out := rewrite.Outgoing{Token: "ntn_1234567890abcdefghijklmnopqrstuvwxyzABCDa1b2", NotionVersion: "2022-06-28"}
	// The header of a typical call through the forward proxy.
	stale := []string{"Bearer ntn_placeholder"}
	proxyAuth := []string{"Basic YWxpY2U6czNjcmV0"}
	h := http.Header{
		"Accept":         {"application/json"},
		"Content-Type":   {"application/json"},
		"User-Agent":     {"notionhq-client/2.2.15"},
		"Content-Length": {"42"},
	}
	b.Run("a stale token is replaced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h["Authorization"] = stale
			h["Proxy-Authorization"] = proxyAuth
			delete(h, "Notion-Version")
			out.Apply(h, "/v1/databases/59833787-2cf9-4fdf-8782-e53db20768a5/query")
		}
	})
	current := []string{"Bearer " + out.Token}
	version := []string{"2025-09-03"}
	b.Run("the current token and a version are kept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h["Authorization"] = current
			h["Notion-Version"] = version
			out.Apply(h, "/v1/pages")
		}
	})
}

func BenchmarkIsInvalidToken(b *testing.B) {
	header := notionHeader()
	body := []byte(bodyUnauthorized)
	b.Run("a 200 is dismissed by its status", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rewrite.IsInvalidToken(200, header, body)
		}
	})
	b.Run("a 401 unauthorized is parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rewrite.IsInvalidToken(401, header, body)
		}
	})
	zipped := gzipBytes(b, bodyUnauthorized)
	zipHeader := gzipHeader()
	b.Run("a gzip-encoded 401 unauthorized is inflated and parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rewrite.IsInvalidToken(401, zipHeader, zipped)
		}
	})
	cdn := cdnHeader()
	page := []byte(cloudflare403)
	b.Run("a CDN page is dismissed by its headers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rewrite.IsInvalidToken(401, cdn, page)
		}
	})
}
