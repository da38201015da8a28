package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
	"github.com/actas/actas/notify"
)

// smtpPasswordEnv is read by smtp set when no --password-file is given.
const smtpPasswordEnv = "ACTAS_SMTP_PASSWORD"

// notifier is what delivers alerts in this process.
func (a *app) notifier() core.Notifier {
	if a.env.Notifier != nil {
		return a.env.Notifier
	}
	return notify.New(notify.Options{})
}

// runOutbox starts the delivery worker for a long-running writer (actas
// serve, the local console) and returns the function that stops it.
func runOutbox(ctx context.Context, c *core.Core) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.RunOutbox(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (a *app) alertCmd() *cobra.Command {
	add := group("add", "Add an alert channel: slack, email or webhook",
		a.alertAddSlackCmd(), a.alertAddEmailCmd(), a.alertAddWebhookCmd())
	return group("alert", "Manage alert channels (Slack, email, signed webhooks) and see the outbox",
		add, a.alertListCmd(), a.alertRemoveCmd(), a.alertTestCmd(), a.alertOutboxCmd())
}

func (a *app) addChannel(w io.Writer, kind core.ChannelKind, target string) error {
	return a.write(func(co *core.Core) error {
		ch, err := co.AddChannel(a.operator(), kind, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "added %s channel %s → %s\n", ch.Kind, ch.ID, core.Display(ch.Destination()))
		if ch.Secret != "" {
			fmt.Fprintf(w, "signing secret (shown once, keep it with the receiver): %s\n", ch.Secret)
		}
		return nil
	})
}

func (a *app) alertAddSlackCmd() *cobra.Command {
	var u string
	c := &cobra.Command{
		Use:     "slack --webhook-url URL",
		Short:   "Post alerts to a Slack incoming webhook",
		Example: "  actas alert add slack --webhook-url https://hooks.slack.com/services/T000/B000/XXXX",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.addChannel(cmd.OutOrStdout(), core.ChannelSlack, u)
		},
	}
	c.Flags().StringVar(&u, "webhook-url", "", "the incoming webhook's URL (required; never shown again in full)")
	_ = c.MarkFlagRequired("webhook-url")
	return c
}

func (a *app) alertAddEmailCmd() *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:     "email --to ADDR[,ADDR]",
		Short:   "Mail alerts to fixed addresses (through the server of actas smtp set)",
		Example: "  actas alert add email --to security@acme.test,oncall@acme.test",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.addChannel(cmd.OutOrStdout(), core.ChannelEmail, to)
		},
	}
	c.Flags().StringVar(&to, "to", "", "comma-separated addresses (required)")
	_ = c.MarkFlagRequired("to")
	return c
}

func (a *app) alertAddWebhookCmd() *cobra.Command {
	var u string
	c := &cobra.Command{
		Use:   "webhook --url URL",
		Short: "POST alerts as JSON signed per Standard Webhooks; prints the secret once",
		Long: `POST every alert as JSON to the URL, signed per Standard Webhooks: headers
webhook-id (stable across retries), webhook-timestamp and webhook-signature
"v1,<base64 HMAC-SHA256 of id.timestamp.body>". The whsec_ secret is printed
once, now; give it to the receiver. It is never shown again.`,
		Example: "  actas alert add webhook --url https://siem.example.com/hooks/actas",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.addChannel(cmd.OutOrStdout(), core.ChannelWebhook, u)
		},
	}
	c.Flags().StringVar(&u, "url", "", "where to POST (required)")
	_ = c.MarkFlagRequired("url")
	return c
}

func (a *app) alertListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List alert channels with their last delivery and error, and the mail server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				chs, err := co.Channels(a.operator())
				if err != nil {
					return err
				}
				smtp, err := co.SMTP(a.operator())
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(chs))
				for _, ch := range chs {
					rows = append(rows, []string{ch.ID, string(ch.Kind), cell(ch.Destination()), stamp(ch.LastDelivered), cell(ch.LastError)})
				}
				w := cmd.OutOrStdout()
				if err := writeTable(w, []string{"ID", "KIND", "DESTINATION", "LAST DELIVERED", "LAST ERROR"}, rows); err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "mail server: %s\n", core.Display(smtp.String()))
				return err
			})
		},
	}
}

func (a *app) alertRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove an alert channel (its undelivered messages are dropped)",
		Example: "  actas alert remove ch_00000001",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.write(func(co *core.Core) error {
				if err := co.RemoveChannel(a.operator(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed alert channel %s\n", args[0])
				return nil
			})
		},
	}
}

func (a *app) alertTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "test ID",
		Short:   "Send a test message to a channel now and say whether it arrived",
		Example: "  actas alert test ch_00000001",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.write(func(co *core.Core) error {
				if err := co.TestChannel(cmd.Context(), a.operator(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "test message delivered to %s\n", args[0])
				return nil
			})
		},
	}
}

func (a *app) alertOutboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "outbox",
		Short: "List undelivered notifications: pending ones and those that failed for good",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				msgs, err := co.Outbox(a.operator())
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(msgs))
				for _, m := range msgs {
					state, next := "pending", stamp(m.NextAt)
					if m.Failed {
						state, next = "failed", "-"
					}
					rows = append(rows, []string{m.ID, state, cell(m.Destination()), m.Notice.Type, stamp(m.Created),
						fmt.Sprint(m.Attempts), next, cell(m.LastError)})
				}
				return writeTable(cmd.OutOrStdout(), []string{"ID", "STATE", "TO", "NOTICE", "QUEUED", "ATTEMPTS", "NEXT TRY", "LAST ERROR"}, rows)
			})
		},
	}
}

func (a *app) smtpCmd() *cobra.Command {
	return group("smtp", "Set the mail server email alerts go through", a.smtpSetCmd())
}

func (a *app) smtpSetCmd() *cobra.Command {
	var cfg core.SMTPConfig
	var passwordFile string
	c := &cobra.Command{
		Use:   "set --host H --port P --from ADDR [--user U --password-file F] [--starttls required|opportunistic]",
		Short: "Set the mail server (SMTP with STARTTLS) used for email alerts",
		Long: `Set the mail server used for every email actas sends. STARTTLS is required:
a server that does not offer it is refused, unless --starttls opportunistic
(then mail goes in plain text to a server without it; for a local relay).

The password is read from --password-file (- for stdin), else from the
environment variable ` + smtpPasswordEnv + `. It is stored so that mail can be sent,
and never printed, logged or exported. Without a new password and with the
same --user, the stored one is kept.`,
		Example: `  actas smtp set --host smtp.example.com --port 587 --from actas@example.com --user actas --password-file /run/secrets/smtp
  actas smtp set --host 127.0.0.1 --port 2525 --from actas@localhost --starttls opportunistic`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passwordFile != "" {
				pw, err := a.readSecretFile(passwordFile)
				if err != nil {
					return err
				}
				cfg.Password = pw
			} else {
				cfg.Password = a.env.Getenv(smtpPasswordEnv)
			}
			if cfg.Password != "" && cfg.User == "" {
				return errorf("a password needs --user")
			}
			return a.write(func(co *core.Core) error {
				if err := co.SetSMTP(a.operator(), cfg); err != nil {
					return err
				}
				s, err := co.SMTP(a.operator())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "mail server: %s\n", core.Display(s.String()))
				return nil
			})
		},
	}
	c.Flags().StringVar(&cfg.Host, "host", "", "mail server host (required)")
	c.Flags().IntVar(&cfg.Port, "port", 587, "mail server port")
	c.Flags().StringVar(&cfg.From, "from", "", "sender address (required)")
	c.Flags().StringVar(&cfg.User, "user", "", "login name, if the server wants one")
	c.Flags().StringVar(&passwordFile, "password-file", "", "file holding the password (- for stdin); else $"+smtpPasswordEnv)
	c.Flags().StringVar(&cfg.StartTLS, "starttls", core.StartTLSRequired, "required or opportunistic")
	_ = c.MarkFlagRequired("host")
	_ = c.MarkFlagRequired("from")
	return c
}

// readSecretFile reads a one-line secret from a file (this machine's, or
// the caller's through the control socket) or stdin, without its line end.
func (a *app) readSecretFile(file string) (string, error) {
	b, name, err := a.readNamed(file, "the password file", 4096)
	if err != nil {
		return "", err
	}
	if len(b) > 4096 {
		return "", errorf("%s is too big for a password", name)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", errorf("%s is empty", name)
	}
	return pw, nil
}
