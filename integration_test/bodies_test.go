package integration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of request bodies (docs/design.md#a-calls-path, docs/design.md#errors): over max_body_bytes they are
// refused before anything is sent; under it they are replayed byte-exact,
// large ones from a spill file that leaves nothing behind.

// sizedPageBody is a valid POST /v1/pages body of exactly n bytes.
func sizedPageBody(n int) []byte {
	head := fmt.Sprintf(`{"parent":{"page_id":%q},"properties":{},"children":[{"object":"block","type":"paragraph","paragraph":{"rich_text":[{"text":{"content":"`, pageID)
	tail := `"}}]}}]}`
	return []byte(head + strings.Repeat("n", n-len(head)-len(tail)) + tail)
}

// chunked hides a body's length, so the client sends it chunked.
type chunked struct{ io.Reader }

func TestOversizeBodyIsRefusedBeforeSending(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "max_body_bytes: 1000\n", tokA))
	for _, m := range modes {
		for _, withLength := range []bool{true, false} {
			how := "with a Content-Length"
			if !withLength {
				how = "chunked"
			}
			t.Run(m.name+": a 2000-byte body "+how+" gets 413 in Notion's shape", func(t *testing.T) {
				id := "oversize-" + m.name + "-" + how
				var body io.Reader = bytes.NewReader(sizedPageBody(2000))
				if !withLength {
					body = chunked{body}
				}
				req, err := http.NewRequest("POST", m.url(p, "/v1/pages"), body)
				if err != nil {
					t.Fatal(err)
				}
				if !withLength {
					req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
				}
				for k, v := range callHeader(id) {
					req.Header.Set(k, v)
				}
				resp, err := m.client(p).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				var e notionError
				if err := json.Unmarshal(data, &e); err != nil || resp.StatusCode != 413 || e.Object != "error" ||
					e.Status != 413 || e.Code == "" || e.Message == "" {
					t.Errorf("got %d %s", resp.StatusCode, data)
				}
				if n := len(withID(fake, id)); n != 0 {
					t.Errorf("the fake saw the refused body %d times", n)
				}
			})
		}
		t.Run(m.name+": a body of exactly max_body_bytes goes through", func(t *testing.T) {
			id := "at-limit-" + m.name
			r := send(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), sizedPageBody(1000), callHeader(id))
			if r.err != nil || r.code != 200 {
				t.Fatalf("got %v", r)
			}
			if got := withID(fake, id); len(got) != 1 || got[0].BodyLen != 1000 {
				t.Errorf("the fake saw %d sends", len(got))
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokA)
}

// spillFiles lists the proxy's open files in dir: spilled request bodies.
// Unlinked files show as "path (deleted)".
func spillFiles(t *testing.T, p *proc, dir string) []string {
	t.Helper()
	fdDir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/fd"
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatalf("list the proxy's open files: %v", err)
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			out = append(out, target)
		}
	}
	return out
}

// bodyFilesIn lists the entries of dir that look like spilled bodies.
func bodyFilesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestLargeBodyIsReplayedByteExact(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc to see the proxy's spill files")
	}
	spill, err := filepath.EvalSymlinks(t.TempDir()) // as /proc shows it
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", spill) // the proxy spills bodies to os.TempDir()
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))

	body := sizedPageBody(5 << 20)
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:])
	fake.Revoke(tokA)
	var chs []<-chan reply
	for _, m := range modes {
		id := "large-" + m.name
		chs = append(chs, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), body, callHeader(id)))
	}
	p.waitProfile(t, "default", "every large call waiting", pausedWith(len(modes)))

	t.Run("waiting bodies are in unlinked spill files, not in the directory", func(t *testing.T) {
		open := spillFiles(t, p, spill)
		if len(open) != len(modes) {
			t.Errorf("the proxy holds %d files in the spill directory, want %d: %q", len(open), len(modes), open)
		}
		for _, f := range open {
			if !strings.HasSuffix(f, " (deleted)") {
				t.Errorf("spill file %s is not unlinked", f)
			}
		}
		if left := bodyFilesIn(t, spill); len(left) != 0 {
			t.Errorf("files in the spill directory: %q", left)
		}
	})
	fake.AddToken(tokB)
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
	for i, m := range modes {
		t.Run(m.name+": the 5 MiB body is replayed byte-exact and applied once", func(t *testing.T) {
			id := "large-" + m.name
			if r := await(t, id, chs[i], 30*time.Second); r.err != nil || r.code != 200 {
				t.Fatalf("got %v", r)
			}
			sends := withID(fake, id)
			if len(sends) == 0 || len(sends) > 2 {
				t.Errorf("the fake saw %d sends, want 1 or 2 (rejected, then applied)", len(sends))
			}
			for j, s := range sends {
				if s.BodySHA256 != want || s.BodyLen != len(body) {
					t.Errorf("send %d carried %d bytes with another SHA-256", j, s.BodyLen)
				}
			}
			if last := sends[len(sends)-1]; last.Token != tokB || last.Status != 200 {
				t.Errorf("the last send got %d", last.Status)
			}
			if len(sends) == 2 {
				checkSameCall(t, sends[0], sends[1])
			}
			if n := fake.Applied()[id]; n != 1 {
				t.Errorf("applied %d times", n)
			}
		})
	}
	t.Run("the spill files are closed once the calls are answered", func(t *testing.T) {
		testwait.Until(t, 5*time.Second, "the spill files to be closed", func() bool { return len(spillFiles(t, p, spill)) == 0 })
		if left := bodyFilesIn(t, spill); len(left) != 0 {
			t.Errorf("files in the spill directory: %q", left)
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}
