package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// errHelpShown is returned once --help has been printed: exit 0, nothing
// more to say.
var errHelpShown = errors.New("help shown")

// errReported is returned when the command printed its own error lines
// (check's file:line: messages): exit 1, nothing more to say.
var errReported = errors.New("error reported")

// subcommand is one subcommand's flags and where --help prints.
type subcommand struct {
	name   string
	fs     *flag.FlagSet
	config *string // --config, or the positional path
	stdout io.Writer
}

// newSubcommand returns a subcommand with --config, whose flag set
// prints nothing itself: parse reports every problem as an error.
func newSubcommand(name string, stdout io.Writer) *subcommand {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c := &subcommand{name: name, fs: fs, stdout: stdout}
	c.config = fs.String("config", "", "config file (default $"+config.EnvPath+", then ./"+config.DefaultPath+")")
	return c
}

// parse parses args, flags and positional arguments in any order. The
// only positional argument a subcommand takes is its config path, the
// same as --config. --help and -h print the usage and errHelpShown.
func (c *subcommand) parse(args []string) error {
	var positional []string
	for {
		err := c.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help()
			return errHelpShown
		}
		if err != nil {
			return fmt.Errorf("%w (see notion-proxy %s --help)", err, c.name)
		}
		if c.fs.NArg() == 0 {
			break
		}
		positional = append(positional, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
	switch {
	case len(positional) > 1:
		return fmt.Errorf("too many arguments %q: the only argument is the config path (see notion-proxy %s --help)",
			positional, c.name)
	case len(positional) == 1 && *c.config != "" && *c.config != positional[0]:
		return fmt.Errorf("two config paths, --config %s and %s: give one", *c.config, positional[0])
	case len(positional) == 1:
		*c.config = positional[0]
	}
	return nil
}

// help prints the subcommand list and this subcommand's flags.
func (c *subcommand) help() {
	fmt.Fprint(c.stdout, usage)
	fmt.Fprintf(c.stdout, "\nFlags of %s:\n", c.name)
	c.fs.SetOutput(c.stdout)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
}

// path resolves the config path: the flag or positional argument, then
// $NOTION_PROXY_CONFIG, then the default; why says which, for messages.
func (c *subcommand) path() (path, why string) {
	switch {
	case *c.config != "":
		return *c.config, "given on the command line"
	case os.Getenv(config.EnvPath) != "":
		return os.Getenv(config.EnvPath), "named by $" + config.EnvPath
	}
	return config.DefaultPath, "the default, as neither --config nor $" + config.EnvPath + " names one"
}

// absPath is path made absolute, for subcommands that name the file in
// their messages or work beside it.
func (c *subcommand) absPath() (path, why string, err error) {
	given, why := c.path()
	path, err = filepath.Abs(given)
	if err != nil {
		return "", "", fmt.Errorf("config path %s: %w", given, err)
	}
	return path, why, nil
}

// durationFlag is a time.Duration flag whose error says that a unit is
// needed ("2" is not a duration, "2s" is).
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if strings.Trim(s, "0123456789.") == "" {
			return fmt.Errorf("a duration needs a unit: %ss, %sm or %sms", s, s, s)
		}
		return fmt.Errorf("not a duration (write e.g. 2s, 500ms, 1m)")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*f.d = d
	return nil
}
