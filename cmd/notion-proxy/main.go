// Command notion-proxy is a local HTTP proxy that repairs Notion API calls:
// it puts the current token on every call, pauses and replays calls when the
// token is revoked, and retries what is safe to retry. See README.md.
//
// This file only wires: flags, config, the parts of package proxy, signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/config"
)

const usage = `notion-proxy: a local proxy that keeps Notion API calls working across token changes.

Usage:
  notion-proxy [run] [--config PATH] [--poll DURATION]   serve (the default)
  notion-proxy check [--config PATH]                      validate the config
  notion-proxy ca [--config PATH]                         show the CA and how to trust it
  notion-proxy token set [--profile NAME] [--config PATH] read a token from stdin into the config
  notion-proxy status [--config PATH] [--addr HOST:PORT]  the running proxy's profiles; exit 0 ok, 1 paused, 2 unreachable
  notion-proxy demo                                       see a revocation repaired, no Notion account needed

The config path defaults to $NOTION_PROXY_CONFIG, then ./notion-proxy.yaml.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = cmdRun(args, stderr)
	case "check":
		err = cmdCheck(args, stdout)
	case "ca":
		err = cmdCA(args, stdout)
	case "token":
		if len(args) == 0 || args[0] != "set" {
			err = errors.New("usage: notion-proxy token set [--profile NAME] [--config PATH] < token-file")
			break
		}
		err = cmdTokenSet(args[1:], stdin, stdout)
	case "demo":
		err = cmdDemo(args, stdout)
	case "status":
		return cmdStatus(args, stdout, stderr) // its own exit codes
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprint(stderr, usage)
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "notion-proxy %s: %v\n", cmd, err)
		}
		return 1
	}
	return 0
}

// commonFlags returns a flag set with --config.
func commonFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	path := fs.String("config", "", "config file (default $"+config.EnvPath+", then ./"+config.DefaultPath+")")
	return fs, path
}

// configPath resolves the config path: flag, then environment, then default.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv(config.EnvPath); env != "" {
		return env
	}
	return config.DefaultPath
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// shutdownGrace bounds how long calls in flight may take to finish on stop.
const shutdownGrace = 15 * time.Second
