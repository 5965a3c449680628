package proxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
)

// Preflight checks what a parsed config names outside itself, as the
// proxy will meet it at start: the upstream_ca file, and each profile's
// token_env and token_file. It is the one check shared by `notion-proxy
// check` and `notion-proxy run`, so check passes exactly the configs run
// serves.
//
// errs are what run refuses to start with: an unreadable upstream_ca, or
// one holding no PEM certificate; a local CA in ca_dir that cannot be
// loaded (half of it, or not a CA), or a ca_dir with no CA where run could
// not create one (not a directory, not writable). warnings are token sources not ready yet
// (an unset token_env variable, a missing or empty token_file): run serves
// anyway and the calls of those profiles wait until a token appears. Every
// message starts with the config's path (and the profile's line), and
// never holds a token. getenv nil means os.Getenv.
func Preflight(cfg *config.Config, getenv func(string) string) (errs, warnings []error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if _, err := upstreamRoots(cfg.UpstreamCA); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", cfg.Path, err))
	}
	if err := caProblem(cfg.CADir); err != nil {
		errs = append(errs, fmt.Errorf("%s: ca_dir: %w", placeOf(cfg.Path, cfg.CADirLine), err))
	}
	errs = append(errs, sharedProblems(cfg, getenv)...)
	for _, p := range cfg.Profiles {
		if _, _, err := tokensource.Resolve(p, getenv); err != nil {
			warnings = append(warnings, fmt.Errorf("%s: profile %s: %w: its calls wait for a token (%s)",
				placeOf(cfg.Path, p.Line), p.Name, err, tokenHint(p)))
		}
	}
	return errs, warnings
}

// LogUnset logs a warning for each ${NAME} in cfg that read as empty
// (config.Config.Unset), with the file, line, variable and key: at start,
// and after each reload that parsed changed bytes.
func LogUnset(log zerolog.Logger, cfg *config.Config) {
	for _, u := range cfg.Unset {
		log.Warn().Str("config", cfg.Path).Int("line", u.Line).Str("variable", u.Name).Str("key", u.Key).
			Msg("config: ${" + u.Name + "} is not set: it reads as empty")
	}
}

// tokenHint says how a profile whose token source is not ready gets one.
func tokenHint(p config.Profile) string {
	switch {
	case p.TokenEnv != "":
		// A process's environment is fixed at its start: neither a reload
		// nor SIGHUP can see a variable set later.
		return "set " + p.TokenEnv + " and restart the proxy, or use token_file or token"
	case p.TokenFile != "":
		if _, err := os.Stat(filepath.Dir(p.TokenFile)); err != nil {
			// The watcher looks for the directory until it appears.
			return "its directory " + filepath.Dir(p.TokenFile) + " does not exist yet: the token is picked up when the directory and the file appear"
		}
		return "it is picked up as soon as the file holds one"
	default:
		return "write one with `notion-proxy token set`"
	}
}

// placeOf formats "FILE:LINE" (or "FILE" with no line) for messages.
func placeOf(file string, line int) string {
	if line > 0 {
		return file + ":" + strconv.Itoa(line)
	}
	return file
}

// upstreamRoots is the pool the upstream's certificate is verified
// against: nil (the system roots) when caFile is "", else the system roots
// plus the PEM certificates of caFile.
func upstreamRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("upstream_ca: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("upstream_ca %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// noteTokenSource logs, once per change, that a profile's token source is
// not ready (err != nil) and what its calls do meanwhile.
func (s *Server) noteTokenSource(p *profile, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if !p.noteFileError(msg) || err == nil {
		return
	}
	if p.gate.Status().Token != "" {
		s.log.Warn().Str("profile", p.name).Err(err).Msg("token source not ready: keeping the last token")
		return
	}
	s.log.Warn().Str("profile", p.name).Err(err).
		Msg("token source not ready: calls of this profile wait for a token; " + tokenHint(p.config()))
}

// caProblem reports why the local CA in dir cannot be loaded, or nil when
// it can. With no CA there yet, it reports why run could not create one:
// dir (or the nearest directory above it that exists) is not a directory,
// or a file cannot be created in it. It creates no CA and leaves nothing
// behind: the one file it writes to find out is removed at once.
func caProblem(dir string) error {
	_, certErr := os.Stat(filepath.Join(dir, localca.CertFile))
	_, keyErr := os.Stat(filepath.Join(dir, localca.KeyFile))
	if absent(certErr) && absent(keyErr) {
		return creatable(dir)
	}
	_, _, err := localca.LoadOrCreate(dir, nil)
	return err
}

// creatable reports why files could not be created in dir, which need not
// exist yet: it tries in the nearest directory at or above dir that exists
// (creating dir needs the same right there).
func creatable(dir string) error {
	at := dir
	for {
		info, err := os.Stat(at)
		switch {
		case err == nil && !info.IsDir():
			return fmt.Errorf("cannot create the CA in %s: %s is not a directory", dir, at)
		case err == nil:
			f, err := os.CreateTemp(at, ".notion-proxy-check-*")
			if err != nil {
				return fmt.Errorf("cannot create the CA in %s: %w", dir, err)
			}
			f.Close()
			if err := os.Remove(f.Name()); err != nil {
				return fmt.Errorf("remove the file made to test %s: %w", at, err)
			}
			return nil
		case !absent(err):
			return fmt.Errorf("cannot create the CA in %s: %w", dir, err)
		}
		up := filepath.Dir(at)
		if up == at {
			return fmt.Errorf("cannot create the CA in %s: no part of it exists", dir)
		}
		at = up
	}
}

// absent reports whether err says a path does not exist, including a path
// that runs through a file (ENOTDIR).
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
