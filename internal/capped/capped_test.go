package capped

import "testing"

func TestWriterKeepsTheFirstBytes(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"what fits is kept whole", 10, []string{"abc", "def"}, "abcdef"},
		{"a write past the cap is cut", 4, []string{"abc", "def"}, "abcd"},
		{"writes after the cap are dropped", 3, []string{"abc", "def"}, "abc"},
		{"a zero cap keeps nothing", 0, []string{"abc"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(tt.max)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want all of it written", s, n, err)
				}
			}
			if got := w.String(); got != tt.want {
				t.Errorf("kept %q, want %q", got, tt.want)
			}
		})
	}
}
