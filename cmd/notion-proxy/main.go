// Command notion-proxy is a local HTTP proxy that repairs Notion API calls:
// it puts the current token on every call, pauses and replays calls when the
// token is revoked, and retries what is safe to retry. See README.md.
//
// This file only wires: flags, config, the parts of package proxy, signals.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `notion-proxy: a local proxy that keeps Notion API calls working across token changes.

Usage:
  notion-proxy [run] [CONFIG] [--poll DURATION]   serve (the default)
  notion-proxy check [CONFIG]                     validate the config and what it names
  notion-proxy ca [CONFIG]                        show the CA and how to trust it
  notion-proxy token set [CONFIG] [--profile NAME] < token.txt
                                                  write a token from stdin into the config
  notion-proxy status [CONFIG] [--addr HOST:PORT]  the running proxy's profiles; exit 0 ok, 1 paused, 2 unreachable
  notion-proxy demo                               see a revocation repaired, no Notion account needed
  notion-proxy help [COMMAND]                     this text, and a command's flags

CONFIG is the config file, the same as --config PATH. It defaults to
$NOTION_PROXY_CONFIG, then ./notion-proxy.yaml.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	switch {
	case len(args) > 0 && isHelp(args[0]):
		if len(args) > 1 && !isHelp(args[1]) {
			// "help run" is "run --help".
			cmd, args = args[1], []string{"--help"}
			break
		}
		fmt.Fprint(stdout, usage)
		return 0
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = cmdRun(args, stdout, stderr)
	case "check":
		err = cmdCheck(args, stdout, stderr)
	case "ca":
		err = cmdCA(args, stdout)
	case "token":
		if len(args) == 0 || args[0] != "set" {
			if len(args) > 0 && isHelp(args[0]) {
				args = []string{"set", "--help"}
			} else {
				err = errors.New("usage: notion-proxy token set [CONFIG] [--profile NAME] < token.txt")
				break
			}
		}
		cmd = "token set"
		err = cmdTokenSet(args[1:], stdin, stdout)
	case "demo":
		if len(args) == 1 && isHelp(args[0]) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		err = cmdDemo(args, stdout)
	case "status":
		return cmdStatus(args, stdout, stderr) // its own exit codes
	default:
		fmt.Fprint(stderr, usage)
		err = fmt.Errorf("unknown command %q", cmd)
		if strings.HasSuffix(cmd, ".yaml") || strings.HasSuffix(cmd, ".yml") {
			err = fmt.Errorf("unknown command %q: to serve that config, run notion-proxy run %s", cmd, cmd)
		}
	}
	switch {
	case errors.Is(err, errHelpShown):
		return 0
	case errors.Is(err, errReported):
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "notion-proxy %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// shutdownGrace bounds how long calls in flight may take to finish on stop.
const shutdownGrace = 15 * time.Second
