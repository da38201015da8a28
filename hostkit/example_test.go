package hostkit_test

import (
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/actas/actas/hostkit"
	"github.com/actas/actas/internal/fakeactas"
)

// In these examples fakeactas stands in for `actas serve --http`, and the
// product is served by httptest. A real product passes the address of actas
// and the key `actas apikey add --name billing` printed.

func newKit(actas *fakeactas.Server) *hostkit.Kit {
	kit, err := hostkit.New(hostkit.Config{
		URL:      actas.URL,
		APIKey:   fakeactas.APIKey,
		Audience: "billing", // the name the API key was added with
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	return kit
}

// enter follows an "Open as" link of the console into the product and
// returns the cookie the product set.
func enter(actas *fakeactas.Server, kit *hostkit.Kit) *http.Cookie {
	_, ticket := actas.Start()
	w := httptest.NewRecorder()
	kit.EnterHandler().ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1/actas/enter?ticket="+ticket, nil))
	return w.Result().Cookies()[0]
}

func get(h http.Handler, method, path string, c *http.Cookie) *http.Response {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, "http://127.0.0.1"+path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	h.ServeHTTP(w, r)
	return w.Result()
}

func ExampleNew() {
	actas := fakeactas.New()
	defer actas.Close()

	kit, err := hostkit.New(hostkit.Config{
		URL:      actas.URL, // e.g. "http://127.0.0.1:8081" for `actas serve --http 127.0.0.1:8081`
		APIKey:   fakeactas.APIKey,
		Audience: "billing",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close()

	product := http.NewServeMux()
	product.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })

	mux := http.NewServeMux()
	mux.Handle("/actas/enter", kit.EnterHandler())
	mux.Handle("/actas/end", kit.EndHandler())
	mux.Handle("/", kit.Middleware(kit.Protect("POST /settings/password")(product)))

	fmt.Println(get(mux, "GET", "/", nil).StatusCode)
	// Output: 200
}

func ExampleKit_EnterHandler() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	// The console shows "Open as Jane Doe: https://app.example.com/actas/enter?ticket=…".
	_, ticket := actas.Start()
	w := httptest.NewRecorder()
	kit.EnterHandler().ServeHTTP(w, httptest.NewRequest("GET", "https://app.example.com/actas/enter?ticket="+ticket, nil))

	resp := w.Result()
	c := resp.Cookies()[0]
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	fmt.Println(c.Name, "HttpOnly:", c.HttpOnly, "Secure:", c.Secure, "SameSite=Lax:", c.SameSite == http.SameSiteLaxMode)
	// Output:
	// 303 /
	// actas_session HttpOnly: true Secure: true SameSite=Lax: true
}

func ExampleKit_Middleware() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	invoices := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := "the signed-in user"
		if imp, ok := hostkit.From(r.Context()); ok {
			user = imp.Target.Email // show the target's invoices
		}
		fmt.Fprintf(w, "invoices of %s", user)
	})
	h := kit.Middleware(invoices)

	body, _ := io.ReadAll(get(h, "GET", "/invoices", nil).Body)
	fmt.Println(string(body))
	body, _ = io.ReadAll(get(h, "GET", "/invoices", enter(actas, kit)).Body)
	fmt.Println(string(body))
	// Output:
	// invoices of the signed-in user
	// invoices of jane@globex.test
}

func ExampleFrom() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imp, ok := hostkit.From(r.Context())
		if !ok {
			fmt.Println("not impersonated")
			return
		}
		fmt.Printf("%s acts as %s in a session ending in %v\n",
			imp.Impersonator.Email, imp.Target.Email, imp.EndsAt.IsZero() || time.Until(imp.EndsAt) > 0)
	}))
	get(h, "GET", "/", nil)
	get(h, "GET", "/", enter(actas, kit))
	// Output:
	// not impersonated
	// lead@acme.test acts as jane@globex.test in a session ending in true
}

func ExampleKit_Protect() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	settings := http.NewServeMux()
	settings.HandleFunc("POST /settings/password", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "password changed")
	})
	h := kit.Middleware(kit.Protect("POST /settings/password", "/admin/")(settings))

	fmt.Println("own user:", get(h, "POST", "/settings/password", nil).StatusCode)
	fmt.Println("impersonator:", get(h, "POST", "/settings/password", enter(actas, kit)).StatusCode)
	// Output:
	// own user: 200
	// impersonator: 403
}

var tags = regexp.MustCompile(`<[^>]*>`)

func ExampleKit_Banner() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	page := template.Must(template.New("page").Parse(`<body>{{.Banner}}<h1>Invoices</h1></body>`))
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = page.Execute(w, map[string]any{"Banner": kit.Banner(r.Context())})
	}))

	body, _ := io.ReadAll(get(h, "GET", "/", enter(actas, kit)).Body)
	text := tags.ReplaceAllString(string(body), "")
	fmt.Println(text)
	// Output: You are viewing as Jane Doe — Lee Lead is acting · ends in 59m · EndInvoices
}

func ExampleKit_EndHandler() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)
	defer kit.Close()

	mux := http.NewServeMux()
	mux.Handle("/actas/end", kit.EndHandler())
	mux.Handle("/", kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := hostkit.From(r.Context())
		fmt.Fprint(w, ok)
	})))

	c := enter(actas, kit)
	body, _ := io.ReadAll(get(mux, "GET", "/", c).Body)
	fmt.Println("impersonated:", string(body))
	resp := get(mux, "POST", "/actas/end", c) // the banner's End button
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	body, _ = io.ReadAll(get(mux, "GET", "/", c).Body)
	fmt.Println("impersonated:", string(body))
	// Output:
	// impersonated: true
	// 303 /
	// impersonated: false
}

func ExampleKit_Close() {
	actas := fakeactas.New()
	defer actas.Close()
	kit := newKit(actas)

	// On shutdown: stop the background work; requests still queued for
	// reporting get a last try.
	fmt.Println(kit.Close())
	// Output: <nil>
}
