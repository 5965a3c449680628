package reqbody

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestReadBodySizedKeepsWhatTheBodyHolds(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		announced int64
		wantCap   int // of the memory kept; 0: any
	}{
		{"an announced small body takes its size and a byte", 82, 82, 83},
		{"an empty announced body", 0, 0, 0},
		{"an announced body of exactly 1 MiB stays in memory", spillAbove, spillAbove, spillAbove + 1},
		{"an unannounced (chunked) body", 3000, -1, 0},
		{"a body shorter than announced is what arrived", 100, 500, 0},
		{"a body longer than announced is read whole", 5000, 100, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := patterned(c.n)
			dir := t.TempDir()
			b, err := ReadSized(bytes.NewReader(want), c.announced, 50<<20, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.file != nil {
				t.Fatalf("a body of %d bytes was spilled", c.n)
			}
			if got := readAll(t, b.NewReader()); !bytes.Equal(got, want) || b.Len() != int64(c.n) {
				t.Fatalf("read back %d bytes (Len %d), want the %d sent", len(got), b.Len(), c.n)
			}
			if c.wantCap != 0 && cap(b.mem) != c.wantCap {
				t.Errorf("kept %d bytes of memory for %d, want %d", cap(b.mem), c.n, c.wantCap)
			}
			emptyDir(t, dir)
		})
	}
}

func TestReadBodySizedSpillsAnnouncedLargeBodiesAtOnce(t *testing.T) {
	want := patterned(3 << 20)
	dir := t.TempDir()
	b, err := ReadSized(bytes.NewReader(want), int64(len(want)), 50<<20, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.file == nil || len(b.mem) != 0 {
		t.Fatalf("an announced 3 MiB body: file %v, %d bytes in memory; want a file only", b.file != nil, len(b.mem))
	}
	if got := readAll(t, b.NewReader()); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want the %d sent", len(got), len(want))
	}
	emptyDir(t, dir)
}

func TestReadBodySizedRefusesWhatIsOverTheLimit(t *testing.T) {
	cases := []struct {
		name      string
		limit     int64
		n         int
		announced int64
	}{
		{"announced honestly, under 1 MiB", 1000, 1001, 1001},
		{"announced smaller than it is", 1000, 5000, 10},
		{"announced honestly, over 1 MiB", 2 << 20, 2<<20 + 1, 2<<20 + 1},
		{"announced under 1 MiB, over 1 MiB", 2 << 20, 3 << 20, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &countingReader{r: bytes.NewReader(patterned(c.n))}
			dir := t.TempDir()
			_, err := ReadSized(src, c.announced, c.limit, dir)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if src.n > c.limit+1 {
				t.Errorf("read %d bytes, want at most limit+1 = %d", src.n, c.limit+1)
			}
			emptyDir(t, dir)
		})
	}
}

func TestReadBodySizedPassesReadErrorsOn(t *testing.T) {
	cause := errors.New("connection reset")
	for _, announced := range []int64{-1, 10, 2 << 20} {
		_, err := ReadSized(io.MultiReader(bytes.NewReader(patterned(5)), errReader{cause}), announced, 50<<20, t.TempDir())
		if !errors.Is(err, cause) {
			t.Errorf("announced %d: err = %v, want %v", announced, err, cause)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestReadBodySizedRefusesBodiesOverASmallLimit(t *testing.T) {
	for _, announced := range []int64{-1, 101, 50} {
		src := &countingReader{r: bytes.NewReader(patterned(300))}
		_, err := ReadSized(src, announced, 100, t.TempDir())
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("announced %d: err = %v, want ErrTooLarge", announced, err)
		}
		if src.n > 101 {
			t.Errorf("announced %d: read %d bytes, want at most limit+1 = 101", announced, src.n)
		}
	}
}
