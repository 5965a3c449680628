package config

import (
	"fmt"
	"net/url"

	"gopkg.in/yaml.v3"
)

// Notify says where the proxy tells a person about pauses, failed
// refreshes, config errors and calls that gave up (docs/design.md#the-person-who-fixes-the-token). The zero
// value sends nowhere.
type Notify struct {
	// Command is run without a shell for each event, with the event as
	// JSON on stdin. Empty: no command.
	Command []string
	// Webhook receives each event as a JSON POST with a "text" field. It
	// is a secret (Slack's are): messages never show it. "": no webhook.
	Webhook string
}

// notify decodes the notify section: command (a list of strings, the
// program first) and webhook (an absolute http or https URL).
func (p *parser) notify(pr pair, n *Notify) error {
	entries, err := p.section(pr, "notify")
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch e.key {
		case "command":
			if n.Command, err = p.argv(e, "notify.command"); err != nil {
				return err
			}
		case "webhook":
			v, err := p.str(e, "notify.webhook")
			if err != nil {
				return err
			}
			if v == "" {
				continue
			}
			if err := checkWebhook(v); err != nil {
				return p.wrapAt(e.keyNode, err)
			}
			n.Webhook = v
		default:
			return p.unknownKey(e, "notify")
		}
	}
	return nil
}

// argv decodes a command: a list of strings whose first element, the
// program, is not empty. An empty list or null means none.
func (p *parser) argv(pr pair, name string) ([]string, error) {
	list := pr.val
	if isNull(list) {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.errAt(pr.keyNode, `%s must be a list of strings, e.g. ["notify-send", "notion-proxy"]`, name)
	}
	if len(list.Content) == 0 {
		return nil, nil
	}
	argv := make([]string, 0, len(list.Content))
	for i, item := range list.Content {
		arg, err := p.scalar(resolve(item), item, fmt.Sprintf("%s[%d]", name, i))
		if err != nil {
			return nil, err
		}
		argv = append(argv, arg)
	}
	if argv[0] == "" {
		return nil, p.errAt(list.Content[0], "%s[0], the program to run, is empty", name)
	}
	return argv, nil
}

// checkWebhook validates a webhook URL without ever showing it: it may be
// a secret.
func checkWebhook(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fmt.Errorf("notify.webhook is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("notify.webhook must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("notify.webhook must name a host")
	}
	return nil
}
