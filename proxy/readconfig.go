package proxy

import (
	"errors"
	"os"
	"syscall"
)

// readConfigFile reads the config at path. Out of descriptors (EMFILE),
// it gives the spare one back for the read and takes it again after: the
// calls holding the descriptors may be waiting for the very token in this
// file. The spare is taken again on the next read if someone else got it
// meanwhile. Called with reloads.mu held.
func (s *Server) readConfigFile(path string) ([]byte, error) {
	if s.reloads.spareFD == nil {
		s.reloads.spareFD, _ = os.Open(os.DevNull)
	}
	data, err := os.ReadFile(path)
	if !errors.Is(err, syscall.EMFILE) || s.reloads.spareFD == nil {
		return data, err
	}
	s.reloads.spareFD.Close()
	data, err = os.ReadFile(path)
	s.reloads.spareFD, _ = os.Open(os.DevNull)
	return data, err
}

// closeSpareFD gives back the spare descriptor (at shutdown).
func (s *Server) closeSpareFD() {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if s.reloads.spareFD != nil {
		s.reloads.spareFD.Close()
		s.reloads.spareFD = nil
	}
}
