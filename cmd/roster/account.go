package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// cmdAccountPlan sets an account's plan, as the platform operator.
func cmdAccountPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var committed, standard bool
	var usd, months int
	fs := flag.NewFlagSet("account plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.BoolVar(&committed, "committed", false, "committed monthly spend plan (needs --monthly-usd and --months)")
	fs.BoolVar(&standard, "standard", false, "standard (pay as you go) plan")
	fs.IntVar(&usd, "monthly-usd", 0, "monthly commitment in USD (at least 750)")
	fs.IntVar(&months, "months", 0, "contract length in months (at least 12)")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return usageError{"account plan: give the ACCOUNT_ID first, e.g. roster account plan MAODM1ZGY2NDYXNJE4 --standard"}
	}
	id := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if committed == standard {
		return usageError{"account plan: give exactly one of --committed or --standard"}
	}
	plan := roster.PlanStandard
	if committed {
		plan = roster.PlanCommitted
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := service.New(db, nil, nil, service.DefaultConfig(), newLogger("text", slog.LevelInfo, stderr))
	a, err := svc.SetPlan(ctx, id, plan, usd, months, roster.Actor{Email: "operator (cli)", IP: "cli"})
	if err != nil {
		return fmt.Errorf("%s", roster.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "%s (%s) is now on the %s plan", a.ID, a.Name, a.Plan)
	if a.Plan == roster.PlanCommitted {
		fmt.Fprintf(stdout, ": %d USD a month for %d months", a.MonthlyCommitmentUSD, a.ContractMonths)
	}
	fmt.Fprintln(stdout)
	return nil
}

// accountJSON is an account in `roster account list --json`.
type accountJSON struct {
	roster.Account
	Members int `json:"members"`
}

// cmdAccountList lists the accounts, oldest first, a page at a time.
func cmdAccountList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var asJSON bool
	var limit int
	var after string
	fs := flag.NewFlagSet("account list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.IntVar(&limit, "limit", 50, "accounts per page (1 to 1000)")
	fs.StringVar(&after, "after", "", "start after this ACCOUNT_ID (the last of the previous page)")
	fs.BoolVar(&asJSON, "json", false, "write JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return usageError{fmt.Sprintf("account list: --limit %d: give 1 to 1000", limit)}
	}
	if after != "" && !roster.ValidAuthID(after) {
		return usageError{fmt.Sprintf("account list: --after %q is not an account ID", clean(after))}
	}
	db, err := openExisting(c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts, total, err := operator(db).ListAccounts(ctx, after, limit)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return fmt.Errorf("account list: --after %s: no such account", after)
	} else if err != nil {
		return err
	}
	next := ""
	if len(accounts) == limit {
		next = accounts[len(accounts)-1].ID
	}
	if asJSON {
		out := struct {
			Accounts  []accountJSON `json:"accounts"`
			Total     int           `json:"total"`
			NextAfter string        `json:"next_after"` // "" on the last page
		}{Accounts: []accountJSON{}, Total: total, NextAfter: next}
		for _, a := range accounts {
			out.Accounts = append(out.Accounts, accountJSON{a.Account, a.Members})
		}
		return writeJSON(stdout, out)
	}
	t := newTable(stdout, "ID", "NAME", "PLAN", "MEMBERS", "CREATED")
	for _, a := range accounts {
		t.row(a.ID, a.Name, planText(a.Account), strconv.Itoa(a.Members), fmtTime(a.CreatedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d shown, %d accounts in all\n", len(accounts), total)
	if next != "" {
		fmt.Fprintf(stdout, "next page: roster account list --after %s\n", next)
	}
	return nil
}

// memberJSON is a member in `roster account show --json`.
type memberJSON struct {
	roster.Member
	Role string `json:"role"`
}

// invitationJSON is a pending invitation in `roster account show --json`.
type invitationJSON struct {
	roster.Invitation
	Role string `json:"role"`
}

// cmdAccountShow shows one account: its plan, members and pending
// invitations.
func cmdAccountShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var asJSON bool
	var most int
	fs := flag.NewFlagSet("account show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.IntVar(&most, "members", 100, "show at most this many members and invitations (0: all)")
	fs.BoolVar(&asJSON, "json", false, "write JSON")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := accountArg("account show", pos)
	if err != nil {
		return err
	}
	if most < 0 {
		return usageError{fmt.Sprintf("account show: --members %d: give 0 (all) or more", most)}
	}
	op, a, closeDB, err := openAccount(ctx, c.Database, id)
	if err != nil {
		return err
	}
	defer closeDB()
	team, err := op.Team(ctx, a, most)
	if err != nil {
		return err
	}
	members, total, invs, invTotal := team.Members, team.MemberCount, team.Invitations, team.InvitationCount
	if asJSON {
		out := struct {
			Account            roster.Account   `json:"account"`
			MemberCount        int              `json:"member_count"`
			Members            []memberJSON     `json:"members"`
			PendingCount       int              `json:"pending_invitation_count"`
			PendingInvitations []invitationJSON `json:"pending_invitations"`
		}{Account: a, MemberCount: total, Members: []memberJSON{}, PendingCount: invTotal, PendingInvitations: []invitationJSON{}}
		for _, m := range members {
			out.Members = append(out.Members, memberJSON{m, m.Role.String()})
		}
		for _, inv := range invs {
			out.PendingInvitations = append(out.PendingInvitations, invitationJSON{inv, inv.Role.String()})
		}
		return writeJSON(stdout, out)
	}
	t := newTable(stdout, "Account", a.ID)
	t.row("Name", a.Name)
	t.row("Plan", planText(a))
	t.row("Two-factor", yesNo(a.RequireMFA, "required of every member", "not required"))
	t.row("Created", fmtTime(a.CreatedAt))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nMembers: %d\n", total)
	if len(members) > 0 {
		t = newTable(stdout, "USER", "EMAIL", "NAME", "ROLE", "STATUS", "TWO-FACTOR", "JOINED")
		for _, m := range members {
			t.row(strconv.FormatInt(m.UserID, 10), m.Email, m.Name, m.Role.String(), string(m.Status), yesNo(m.MFA, "on", "off"), fmtTime(m.JoinedAt))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(members) < total {
			fmt.Fprintf(stdout, "... and %d more (--members 0 shows all)\n", total-len(members))
		}
	}
	fmt.Fprintf(stdout, "\nPending invitations: %d\n", invTotal)
	if len(invs) > 0 {
		t = newTable(stdout, "ID", "EMAIL", "ROLE", "STATUS", "EXPIRES")
		for _, inv := range invs {
			t.row(strconv.FormatInt(inv.ID, 10), inv.Email, inv.Role.String(), string(inv.Status), fmtTime(inv.ExpiresAt))
		}
		return t.flush()
	}
	return nil
}
