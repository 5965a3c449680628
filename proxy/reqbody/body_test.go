package reqbody

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// patterned returns n bytes that differ from one offset to the next, so a
// reader that starts at the wrong place or skips bytes is noticed.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// emptyDir fails the test if dir holds any entry.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in the spill directory: %s", e.Name())
	}
}

// readAll reads r to its end and closes it.
func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadBodyKeepsSmallBodiesInMemory(t *testing.T) {
	cases := []struct {
		name string
		size int
	}{
		{"a one-byte body", 1},
		{"a JSON-sized body", 4 << 10},
		{"a body of exactly 1 MiB", spillAbove},
	}
	for _, c := range cases {
		t.Run(c.name+" stays in memory and reads back byte-exact", func(t *testing.T) {
			dir := t.TempDir()
			want := patterned(c.size)
			b, err := Read(bytes.NewReader(want), 50<<20, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.file != nil {
				t.Error("a body of at most 1 MiB was spilled to a file")
			}
			if b.Len() != int64(c.size) {
				t.Errorf("Len = %d, want %d", b.Len(), c.size)
			}
			for i := range 2 {
				if got := readAll(t, b.NewReader()); !bytes.Equal(got, want) {
					t.Fatalf("reader %d: %d bytes differ from the %d sent", i, len(got), len(want))
				}
			}
			emptyDir(t, dir)
		})
	}
	for name, r := range map[string]io.Reader{"a nil body": nil, "http.NoBody": http.NoBody, "an empty reader": strings.NewReader("")} {
		t.Run(name+" is an empty body", func(t *testing.T) {
			b, err := Read(r, 1000, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Len() != 0 {
				t.Errorf("Len = %d", b.Len())
			}
			if got := readAll(t, b.NewReader()); len(got) != 0 {
				t.Errorf("read %d bytes from an empty body", len(got))
			}
		})
	}
}

func TestReadBodySpillsLargeBodiesToAnUnlinkedFile(t *testing.T) {
	dir := t.TempDir()
	want := patterned(3<<20 + 17)
	b, err := Read(bytes.NewReader(want), 50<<20, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the body is in a file, not in memory", func(t *testing.T) {
		if b.file == nil {
			t.Fatal("a 3 MiB body was kept in memory")
		}
		if len(b.mem) != 0 {
			t.Errorf("a spilled body also holds %d bytes in memory", len(b.mem))
		}
		if b.Len() != int64(len(want)) {
			t.Errorf("Len = %d, want %d", b.Len(), len(want))
		}
	})
	t.Run("no file is left in the spill directory while the body is open", func(t *testing.T) {
		emptyDir(t, dir)
	})
	t.Run("readers are independent and byte-exact", func(t *testing.T) {
		first, second := b.NewReader(), b.NewReader()
		half := make([]byte, len(want)/2)
		if _, err := io.ReadFull(first, half); err != nil {
			t.Fatal(err)
		}
		whole := readAll(t, second)
		rest := readAll(t, first)
		if !bytes.Equal(whole, want) {
			t.Errorf("second reader: %d bytes, not the %d sent", len(whole), len(want))
		}
		if !bytes.Equal(append(half, rest...), want) {
			t.Error("first reader, read in two parts around the second, is not the body")
		}
		if again := readAll(t, b.NewReader()); !bytes.Equal(again, want) {
			t.Error("a third reader after the others is not the body")
		}
	})
	t.Run("Close releases the file and leaves nothing behind", func(t *testing.T) {
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.file.Stat(); err == nil {
			t.Error("the spill file is still open after Close")
		}
		emptyDir(t, dir)
	})
}

func TestReadBodyRefusesBodiesOverTheLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int64
	}{
		{"a small limit (in memory)", 1000},
		{"a limit of exactly 1 MiB", spillAbove},
		{"a limit above 1 MiB (spilled)", 2<<20 + 5},
	}
	for _, c := range cases {
		t.Run(c.name+": limit+1 bytes is ErrTooLarge, having read at most limit+1", func(t *testing.T) {
			dir := t.TempDir()
			src := &countingReader{r: bytes.NewReader(patterned(int(c.limit) + 4096))}
			b, err := Read(src, c.limit, dir)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if b != nil {
				t.Error("a refused body was returned")
			}
			if src.n > c.limit+1 {
				t.Errorf("read %d bytes of the body, more than limit+1 = %d", src.n, c.limit+1)
			}
			emptyDir(t, dir)
		})
		t.Run(c.name+": exactly limit+1 bytes is refused", func(t *testing.T) {
			dir := t.TempDir()
			_, err := Read(bytes.NewReader(patterned(int(c.limit)+1)), c.limit, dir)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			emptyDir(t, dir)
		})
		t.Run(c.name+": exactly limit bytes is taken whole", func(t *testing.T) {
			dir := t.TempDir()
			want := patterned(int(c.limit))
			b, err := Read(bytes.NewReader(want), c.limit, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got := readAll(t, b.NewReader()); !bytes.Equal(got, want) {
				t.Errorf("read back %d bytes, not the %d sent", len(got), len(want))
			}
		})
	}
}

// brokenReader yields some bytes, then fails.
type brokenReader struct {
	left int
	err  error
}

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, r.err
	}
	n := min(len(p), r.left)
	clear(p[:n])
	r.left -= n
	return n, nil
}

func TestReadBodyReportsAReadError(t *testing.T) {
	cause := errors.New("connection reset by program")
	for name, before := range map[string]int{"before 1 MiB": 100, "after 1 MiB (while spilling)": 2 << 20} {
		t.Run("an error "+name+" is returned wrapped, and no file is left", func(t *testing.T) {
			dir := t.TempDir()
			_, err := Read(&brokenReader{left: before, err: cause}, 50<<20, dir)
			if !errors.Is(err, cause) || errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want one wrapping %v", err, cause)
			}
			emptyDir(t, dir)
		})
	}
}
