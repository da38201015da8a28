package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) orgCmd() *cobra.Command {
	return group("org", "Add and list customer orgs", a.orgAddCmd(), a.orgListCmd())
}

func (a *app) orgAddCmd() *cobra.Command {
	var name, parent string
	c := &cobra.Command{
		Use:     "add --name N [--parent P]",
		Short:   "Add a customer org under the root org (or under --parent)",
		Example: "  actas org add --name Globex\n  actas org add --name \"Globex EU\" --parent Globex",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				org, err := co.CreateOrg(a.operator(), name, parent)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added org %s (%s) under %s\n",
					core.Display(org.Name), org.ID, core.Display(co.OrgName(org.Parent)))
				return nil
			})
		},
	}
	c.Flags().StringVar(&name, "name", "", "the org's name, unique (required)")
	c.Flags().StringVar(&parent, "parent", "", "name of the parent org (default the root org)")
	_ = c.MarkFlagRequired("name")
	return c
}

func (a *app) orgListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every org with its parent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapAdmin, "listing orgs"); err != nil {
					return err
				}
				orgs := co.Orgs()
				rows := make([][]string, 0, len(orgs))
				for _, org := range orgs {
					parent := ""
					if org.Parent != "" {
						parent = co.OrgName(org.Parent)
					}
					rows = append(rows, []string{org.ID, cell(org.Name), cell(parent), stamp(org.Created)})
				}
				return writeTable(cmd.OutOrStdout(), []string{"ID", "NAME", "PARENT", "CREATED"}, rows)
			})
		},
	}
}
