package main

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actas/actas/hostkit"
)

// User is an end user of the product (the demo's Globex members).
type User struct {
	Email string
	Name  string
}

// Users are the people who can sign in: the end users of actas's demo.
var Users = []User{
	{"jane@globex.test", "Jane Doe"},
	{"bob@globex.test", "Bob Brown"},
	{"ina@globex.test", "Ina Inactive"},
}

// Invoice is one line of /invoices.
type Invoice struct {
	Number   int
	Customer string
	Cents    int64
	Created  time.Time
	// By is who added it: the user, or "IMPERSONATOR for USER".
	By string
}

// Amount renders the invoice's amount.
func (i Invoice) Amount() string { return fmt.Sprintf("%d.%02d", i.Cents/100, i.Cents%100) }

// App is the product: invoices per user, kept in memory.
type App struct {
	kit *hostkit.Kit

	mu       sync.Mutex
	invoices map[string][]Invoice // by user email
	next     int
}

const userCookie = "hostapp_user"

// NewApp makes the product with a few invoices per user.
func NewApp(kit *hostkit.Kit) *App {
	a := &App{kit: kit, invoices: map[string][]Invoice{}, next: 1001}
	now := time.Now()
	for _, u := range Users {
		a.add(u.Email, Invoice{Customer: "Initech", Cents: 120000, Created: now.Add(-72 * time.Hour), By: u.Email})
		a.add(u.Email, Invoice{Customer: "Umbrella Corp", Cents: 49950, Created: now.Add(-24 * time.Hour), By: u.Email})
	}
	return a
}

func (a *App) add(email string, inv Invoice) Invoice {
	a.mu.Lock()
	defer a.mu.Unlock()
	inv.Number = a.next
	a.next++
	a.invoices[email] = append(a.invoices[email], inv)
	return inv
}

// Handler is the whole product: ticket entry and End from hostkit, the
// pages behind hostkit's middleware, the password change protected.
func (a *App) Handler() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/invoices", http.StatusSeeOther)
	})
	pages.HandleFunc("GET /signin", a.signinPage)
	pages.HandleFunc("POST /signin", a.signin)
	pages.HandleFunc("POST /signout", a.signout)
	pages.HandleFunc("GET /invoices", a.signedIn(a.invoicesPage))
	pages.HandleFunc("POST /invoices", a.signedIn(a.addInvoice))
	pages.HandleFunc("GET /settings", a.signedIn(a.settingsPage))
	pages.HandleFunc("POST /settings/password", a.signedIn(a.changePassword))

	mux := http.NewServeMux()
	mux.Handle("/actas/enter", a.kit.EnterHandler())
	mux.Handle("/actas/end", a.kit.EndHandler())
	mux.Handle("/", a.kit.Middleware(a.kit.Protect("POST /settings/password")(pages)))
	return mux
}

// viewer is who a page is for: the impersonated user while impersonating,
// else the signed-in user.
type viewer struct {
	User
	Impersonation *hostkit.Impersonation
}

func lookup(email string) (User, bool) {
	i := slices.IndexFunc(Users, func(u User) bool { return strings.EqualFold(u.Email, email) })
	if i < 0 {
		return User{}, false
	}
	return Users[i], true
}

func (a *App) viewerOf(r *http.Request) (viewer, bool) {
	if imp, ok := hostkit.From(r.Context()); ok {
		u, known := lookup(imp.Target.Email)
		if !known {
			u = User{Email: imp.Target.Email, Name: imp.Target.Label()}
		}
		return viewer{User: u, Impersonation: &imp}, true
	}
	c, err := r.Cookie(userCookie)
	if err != nil {
		return viewer{}, false
	}
	u, ok := lookup(c.Value)
	return viewer{User: u}, ok
}

func (a *App) signedIn(h func(http.ResponseWriter, *http.Request, viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := a.viewerOf(r)
		if !ok {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		h(w, r, v)
	}
}

//go:embed templates/*.html
var templateFiles embed.FS

var templates = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// page is what every template gets.
type page struct {
	Title   string
	Banner  template.HTML
	Viewer  viewer
	Users   []User
	Notice  string
	Error   string
	Data    any
	Current string
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Banner = a.kit.Banner(r.Context())
	p.Users = Users
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		fmt.Fprintf(w, "<p>page error: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

func (a *App) signinPage(w http.ResponseWriter, r *http.Request) {
	v, _ := a.viewerOf(r)
	a.render(w, r, http.StatusOK, "signin.html", page{Title: "Sign in", Viewer: v})
}

func (a *App) signin(w http.ResponseWriter, r *http.Request) {
	u, ok := lookup(r.FormValue("email"))
	if !ok {
		a.render(w, r, http.StatusUnprocessableEntity, "signin.html", page{Title: "Sign in", Error: "Pick one of the users below."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: u.Email, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/invoices", http.StatusSeeOther)
}

func (a *App) signout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (a *App) list(email string) []Invoice {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.invoices[email])
	slices.Reverse(out) // newest first
	return out
}

func (a *App) invoicesPage(w http.ResponseWriter, r *http.Request, v viewer) {
	a.render(w, r, http.StatusOK, "invoices.html", page{Title: "Invoices", Viewer: v, Current: "invoices", Data: a.list(v.Email)})
}

// parseCents reads "12", "12.5" or "12.50" as cents.
func parseCents(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if len(frac) > 2 {
		return 0, false
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > 1_000_000_000 {
		return 0, false
	}
	return w*100 + f, true
}

func (a *App) addInvoice(w http.ResponseWriter, r *http.Request, v viewer) {
	customer := strings.TrimSpace(r.FormValue("customer"))
	cents, ok := parseCents(r.FormValue("amount"))
	if customer == "" || len(customer) > 100 || !ok || cents == 0 {
		a.render(w, r, http.StatusUnprocessableEntity, "invoices.html", page{Title: "Invoices", Viewer: v, Current: "invoices",
			Data: a.list(v.Email), Error: "Give a customer (up to 100 characters) and an amount such as 120.00."})
		return
	}
	by := v.Email
	if v.Impersonation != nil {
		by = v.Impersonation.Impersonator.Email + " as " + v.Email
	}
	inv := a.add(v.Email, Invoice{Customer: customer, Cents: cents, Created: time.Now(), By: by})
	a.render(w, r, http.StatusOK, "invoices.html", page{Title: "Invoices", Viewer: v, Current: "invoices",
		Data: a.list(v.Email), Notice: fmt.Sprintf("Invoice %d for %s added.", inv.Number, inv.Customer)})
}

func (a *App) settingsPage(w http.ResponseWriter, r *http.Request, v viewer) {
	a.render(w, r, http.StatusOK, "settings.html", page{Title: "Settings", Viewer: v, Current: "settings"})
}

func (a *App) changePassword(w http.ResponseWriter, r *http.Request, v viewer) {
	pw := r.FormValue("new_password")
	if len(pw) < 8 {
		a.render(w, r, http.StatusUnprocessableEntity, "settings.html", page{Title: "Settings", Viewer: v, Current: "settings",
			Error: "A password needs at least 8 characters."})
		return
	}
	// An example product keeps no passwords; a real one would store a hash.
	a.render(w, r, http.StatusOK, "settings.html", page{Title: "Settings", Viewer: v, Current: "settings", Notice: "Password changed."})
}
