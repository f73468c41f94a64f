// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
)

// modelInfo describes a model: its display name for cost descriptions, its
// capabilities and its base list prices in nano-cents per token
// ($1 per million tokens = 100 000 nano-cents per token).
type modelInfo struct {
	ID          string
	Display     string
	Geo         bool // released Feb 2026 or later: accepts inference_geo
	LongContext bool // has a 200k-1M context window
	Fast        bool // supports fast mode (speed=fast)
	InputNC     int64
	OutputNC    int64
}

var knownModels = []modelInfo{
	{ID: "claude-opus-4-6", Display: "Claude Opus 4.6", Geo: true, LongContext: true, Fast: true, InputNC: 500_000, OutputNC: 2_500_000},
	{ID: "claude-sonnet-4-6", Display: "Claude Sonnet 4.6", Geo: true, LongContext: true, InputNC: 300_000, OutputNC: 1_500_000},
	{ID: "claude-opus-4-5", Display: "Claude Opus 4.5", InputNC: 500_000, OutputNC: 2_500_000},
	{ID: "claude-sonnet-4-5", Display: "Claude Sonnet 4.5", LongContext: true, InputNC: 300_000, OutputNC: 1_500_000},
	{ID: "claude-sonnet-4-5-20250929", Display: "Claude Sonnet 4.5", LongContext: true, InputNC: 300_000, OutputNC: 1_500_000},
	{ID: "claude-haiku-4-5", Display: "Claude Haiku 4.5", InputNC: 100_000, OutputNC: 500_000},
	{ID: "claude-opus-4-1", Display: "Claude Opus 4.1", InputNC: 1_500_000, OutputNC: 7_500_000},
	{ID: "claude-opus-4-20250514", Display: "Claude Opus 4", InputNC: 1_500_000, OutputNC: 7_500_000},
	{ID: "claude-sonnet-4-20250514", Display: "Claude Sonnet 4", LongContext: true, InputNC: 300_000, OutputNC: 1_500_000},
	{ID: "claude-3-5-haiku-20241022", Display: "Claude Haiku 3.5", InputNC: 80_000, OutputNC: 400_000},
}

// DefaultModels is the model set used when OrgOptions.Models is empty: two
// models with inference_geo support (Feb 2026 or later) and two older ones
// that report inference_geo "not_available".
var DefaultModels = []string{"claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-1"}

func lookupModel(id string) *modelInfo {
	for i := range knownModels {
		if knownModels[i].ID == id {
			m := knownModels[i]
			return &m
		}
	}
	// Unknown model: a Sonnet-priced model without geo support, with a
	// display name derived from the id ("claude-foo-4-2" -> "Claude Foo 4.2").
	return &modelInfo{ID: id, Display: displayName(id), InputNC: 300_000, OutputNC: 1_500_000}
}

func displayName(id string) string {
	parts := strings.Split(strings.TrimPrefix(id, "claude-"), "-")
	var words, nums []string
	for _, p := range parts {
		if p == "" || (len(p) == 8 && strings.IndexFunc(p, func(r rune) bool { return !unicode.IsDigit(r) }) < 0) {
			continue // a date suffix
		}
		if unicode.IsDigit(rune(p[0])) {
			nums = append(nums, p)
			continue
		}
		words = append(words, strings.ToUpper(p[:1])+p[1:])
	}
	name := "Claude"
	if len(words) > 0 {
		name += " " + strings.Join(words, " ")
	}
	if len(nums) > 0 {
		name += " " + strings.Join(nums, ".")
	}
	return name
}

type user struct {
	ID      string
	Email   string
	Name    string
	Role    string
	AddedAt time.Time
}

type workspace struct {
	ID         *string // nil for the default workspace
	Name       string
	Slug       string
	CreatedAt  time.Time
	ArchivedAt *time.Time
	Color      string
	Geo        string // data_residency.default_inference_geo
	Tags       map[string]string
	Keys       []*apiKey
	CodeExec   *series // code-execution cost pseudo-series (cost report only)
}

type apiKey struct {
	ID        string
	Name      string
	Status    string
	CreatedAt time.Time
	CreatedBy *user
	ExpiresAt *time.Time
	Hint      string
	WS        *workspace
	Until     time.Time // zero: still in use
}

type ccActor struct {
	User      *user   // user_actor, or
	Key       *apiKey // api_actor
	Terminals []string
	HKey      uint64
	FromHour  int64
	UntilHour int64
	Models    []*modelInfo
	AllTools  bool
	PActive   int64
}

func (a *ccActor) actorType() string {
	if a.User != nil {
		return "user_actor"
	}
	return "api_actor"
}

func (a *ccActor) name() string {
	if a.User != nil {
		return a.User.Email
	}
	return a.Key.Name
}

type org struct {
	ID         string
	Name       string
	Origin     time.Time // usage exists from here
	OriginMin  int64
	Workspaces []*workspace // [0] is the default workspace; listed ones follow
	Keys       []*apiKey    // every key, in list order
	Users      []*user
	Series     []*series
	Actors     []*ccActor
	Models     []*modelInfo
}

var workspaceNames = []string{"Production", "Staging", "Research", "Data Pipeline", "Support Bot", "Evals", "Marketing", "Internal Tools"}
var keyPatterns = []string{"backend", "ci-bot", "batch-jobs", "analytics", "support", "eval-runner", "ingest", "agents"}
var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara"}
var lastNames = []string{"nguyen", "smith", "garcia", "kim", "okafor", "muller", "rossi", "tanaka", "silva", "novak"}
var colors = []string{"#6C5BB9", "#D97757", "#4A90D9", "#5BB98C", "#B9A45B", "#B95B7E"}
var terminals = []string{"vscode", "iTerm.app", "tmux", "cursor", "Apple_Terminal", "goland", "ssh-session"}

func minuteOf(t time.Time) int64 { return floorDiv(t.Unix(), 60) }

func newOrg(seed uint64, o Options, now0 time.Time) *org {
	scale := o.Org.Scale
	if scale < 1 {
		scale = 1
	}
	g := &org{}
	h := func(parts ...uint64) uint64 {
		x := seed
		for i, p := range parts {
			x = hash4(x, p, uint64(i), 0x0a11ce)
		}
		return x
	}
	idh := h(1)
	g.ID = fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(idh), uint16(idh>>32), uint16(idh>>48)&0xfff, 0x8000|uint16(mix64(idh))&0x3fff, mix64(idh+1)&0xffffffffffff)
	g.Name = "Simulated Org " + base58ID(h(2), 4)
	g.Origin = now0.Add(-time.Duration(o.HistoryDays) * 24 * time.Hour).Truncate(time.Minute).UTC()
	g.OriginMin = minuteOf(g.Origin)
	day0 := now0.UTC().Truncate(24 * time.Hour)
	span := now0.Sub(g.Origin)
	at := func(frac float64) time.Time { // a minute-aligned instant inside the history
		return g.Origin.Add(time.Duration(float64(span) * frac)).Truncate(time.Minute)
	}

	displays := map[string]bool{}
	for _, id := range o.Org.Models {
		if id == "" || slicesContainsModel(g.Models, id) {
			continue
		}
		m := lookupModel(id)
		if displays[m.Display] { // keep cost descriptions unique per model
			m.Display += " (" + id + ")"
		}
		displays[m.Display] = true
		g.Models = append(g.Models, m)
	}

	// Users: Claude Code users first, then an admin and a billing user.
	nCC := o.Org.ClaudeCodeUsers * scale
	seen := map[string]int{}
	for i := 0; i < nCC+2; i++ {
		uh := h(10, uint64(i))
		fn := firstNames[uh%uint64(len(firstNames))]
		ln := lastNames[(uh>>16)%uint64(len(lastNames))]
		local := fn + "." + ln
		if n := seen[local]; n > 0 {
			local = fmt.Sprintf("%s%d", local, n+1)
		}
		seen[fn+"."+ln]++
		role := "claude_code_user"
		switch {
		case i == nCC:
			role = "admin"
		case i == nCC+1:
			role = "billing"
		case i%2 == 1:
			role = "developer"
		}
		g.Users = append(g.Users, &user{
			ID:      "user_01" + base58ID(uh, 22),
			Email:   local + "@example.com",
			Name:    strings.ToUpper(fn[:1]) + fn[1:] + " " + strings.ToUpper(ln[:1]) + ln[1:],
			Role:    role,
			AddedAt: day0.Add(-time.Duration(60+i*3) * 24 * time.Hour).Add(time.Duration(pick(uh>>32, 0, 86399)) * time.Second),
		})
	}
	admin := g.Users[nCC]

	// Workspaces: the default one (no id), the named ones, one archived.
	nWS := o.Org.Workspaces * scale
	def := &workspace{Name: "Default", Slug: "default", CreatedAt: day0.Add(-400 * 24 * time.Hour), Geo: "global"}
	g.Workspaces = append(g.Workspaces, def)
	for i := 0; i <= nWS; i++ {
		wh := h(20, uint64(i))
		name := workspaceNames[i%len(workspaceNames)]
		if i >= len(workspaceNames) {
			name = fmt.Sprintf("%s %d", name, i/len(workspaceNames)+1)
		}
		archived := i == nWS
		if archived {
			name = "Legacy Prototype"
		}
		id := "wrkspc_01" + base58ID(wh, 22)
		ws := &workspace{
			ID:        &id,
			Name:      name,
			Slug:      strings.ReplaceAll(strings.ToLower(name), " ", "-"),
			CreatedAt: day0.Add(-time.Duration(200-i) * 24 * time.Hour).Add(time.Duration(pick(wh>>8, 0, 86399)) * time.Second),
			Color:     colors[i%len(colors)],
			Geo:       "global",
			Tags:      map[string]string{"team": []string{"platform", "ml", "growth", "support"}[i%4]},
		}
		if wh%4 == 1 {
			ws.Geo = "us"
		}
		if archived {
			t := at(0.5)
			ws.ArchivedAt = &t
			ws.Tags = map[string]string{}
		}
		g.Workspaces = append(g.Workspaces, ws)
	}

	// API keys.
	for wi, ws := range g.Workspaces {
		for k := 0; k < o.Org.APIKeysPerWorkspace; k++ {
			kh := h(30, uint64(wi), uint64(k))
			pattern := keyPatterns[(uint64(wi)+uint64(k)*3)%uint64(len(keyPatterns))]
			key := &apiKey{
				ID:        "apikey_01" + base58ID(kh, 22),
				Name:      fmt.Sprintf("%s-%s-key", ws.Slug, pattern),
				Status:    "active",
				CreatedAt: ws.CreatedAt.Add(time.Duration(1+k) * 24 * time.Hour).Add(time.Duration(pick(kh>>8, 0, 86399)) * time.Second),
				CreatedBy: g.Users[int(kh>>20)%len(g.Users)],
				Hint:      "sk-ant-api03-" + base58ID(kh>>3, 3) + "..." + base58ID(kh>>5, 4),
				WS:        ws,
			}
			if k > 0 && k == o.Org.APIKeysPerWorkspace-1 {
				key.Name = fmt.Sprintf("%s-%s-key-%d", ws.Slug, pattern, k+1)
			}
			if ws.ArchivedAt != nil {
				key.Status = "archived"
				key.Until = *ws.ArchivedAt
			}
			ws.Keys = append(ws.Keys, key)
		}
	}
	// Lifecycle variety among the named, non-archived workspaces: an inactive
	// key (usage until deactivation), an expired key, and a key created
	// in the middle of the history (usage only after that).
	if nWS >= 1 && o.Org.APIKeysPerWorkspace >= 1 {
		k := g.Workspaces[1].Keys[o.Org.APIKeysPerWorkspace-1]
		k.Status = "inactive"
		k.Until = at(0.75)
	}
	if nWS >= 2 && o.Org.APIKeysPerWorkspace >= 2 {
		k := g.Workspaces[2].Keys[o.Org.APIKeysPerWorkspace-1]
		k.Status = "expired"
		t := at(0.625)
		k.ExpiresAt = &t
		k.Until = t
	}
	if nWS >= 3 && o.Org.APIKeysPerWorkspace >= 1 {
		k := g.Workspaces[3].Keys[0]
		k.CreatedAt = at(1.0 / 3)
	}
	for _, ws := range g.Workspaces {
		g.Keys = append(g.Keys, ws.Keys...)
	}
	sort.SliceStable(g.Keys, func(i, j int) bool { return g.Keys[i].CreatedAt.Before(g.Keys[j].CreatedAt) })

	// Series.
	for wi, ws := range g.Workspaces {
		principals := append(append([]*apiKey{}, ws.Keys...), nil) // nil: Workbench
		for pi, key := range principals {
			g.addSeries(seed, o, ws, wi, pi, key, nil, admin)
		}
		// One named workspace is also used through OIDC workload identity
		// federation: requests of a service account, with no API key and
		// no user account.
		if wi == 1 && ws.ArchivedAt == nil {
			id := "svac_01" + base58ID(h(45, uint64(wi)), 22)
			g.addSeries(seed, o, ws, wi, len(principals), nil, &id, admin)
		}
		// Code execution (cost report only).
		ch := h(40, uint64(wi))
		ce := &series{
			Key:      hash4(seed, 0xc0de, uint64(wi), 0),
			FromMin:  g.OriginMin,
			UntilMin: math.MaxInt64,
			Base:     pick(ch, 300, 3000),
			PActive:  pick(ch>>12, 100, 400),
			Density:  300,
			Burst:    20,
		}
		ce.Ratio[cUncached] = 1_000_000 // container-seconds, not tokens
		ce.Ratio[cRequests] = 33_333    // an execution span per 30 container-seconds
		if ws.ArchivedAt != nil {
			ce.UntilMin = minuteOf(*ws.ArchivedAt)
		}
		ws.CodeExec = ce
	}

	// Claude Code actors: the Claude Code users, plus API-key actors.
	for i := 0; i < nCC; i++ {
		g.Actors = append(g.Actors, g.newActor(seed, uint64(i), g.Users[i], nil))
	}
	var candidates []*apiKey
	for _, ws := range g.Workspaces {
		for _, k := range ws.Keys {
			if k.Status == "inactive" {
				candidates = append([]*apiKey{k}, candidates...)
			} else if k.Status == "active" {
				candidates = append(candidates, k)
			}
		}
	}
	nAPI := max(2, nCC/2) // the inactive key (history only) and active keys
	for i := 0; i < nAPI && i < len(candidates); i++ {
		g.Actors = append(g.Actors, g.newActor(seed, uint64(1000+i), nil, candidates[i]))
	}
	return g
}

func (g *org) addSeries(seed uint64, o Options, ws *workspace, wi, pi int, key *apiKey, svac *string, admin *user) {
	if len(g.Models) == 0 {
		return
	}
	ph := hash4(seed, 0x5e71e5, uint64(wi), uint64(pi))
	from := g.OriginMin
	until := int64(math.MaxInt64)
	var account *string
	if key != nil {
		if m := ceilDiv(key.CreatedAt.Unix(), 60); m > from {
			from = m
		}
		if !key.Until.IsZero() {
			until = minuteOf(key.Until)
		}
	} else if svac == nil {
		// Workbench use is made by a logged-in user: it carries account_id.
		u := g.Users[int(ph>>40)%len(g.Users)]
		if u.Role == "billing" {
			u = admin
		}
		account = &u.ID
		if ws.ArchivedAt != nil {
			until = minuteOf(*ws.ArchivedAt)
		}
	}
	maxModels := 3
	if key == nil && svac == nil {
		maxModels = 2
	}
	if maxModels > len(g.Models) {
		maxModels = len(g.Models)
	}
	nm := 1 + int(ph%uint64(maxModels))
	start := int((ph >> 8) % uint64(len(g.Models)))
	for j := 0; j < nm; j++ {
		m := g.Models[(start+j)%len(g.Models)]
		mh := hash4(ph, uint64(j), 0x30de1, 0)
		geo := "not_available"
		if m.Geo {
			geo = ws.Geo
		}
		type combo struct{ tier, cw, geo, speed string }
		combos := []combo{{"standard", "0-200k", geo, "standard"}}
		if key != nil {
			if mh%100 < 35 {
				combos = append(combos, combo{"batch", "0-200k", geo, "standard"})
			}
			if (mh>>8)%100 < 20 {
				combos = append(combos, combo{"priority", "0-200k", geo, "standard"})
			}
			if (mh>>16)%100 < 10 {
				combos = append(combos, combo{"flex", "0-200k", geo, "standard"})
			}
			if m.LongContext && (mh>>24)%100 < 30 {
				combos = append(combos, combo{"standard", "200k-1M", geo, "standard"})
			}
			if m.Geo && (mh>>32)%100 < 25 {
				other := "us"
				if geo == "us" {
					other = "global"
				}
				combos = append(combos, combo{"standard", "0-200k", other, "standard"})
			}
			if m.Fast && (mh>>40)%100 < 40 {
				combos = append(combos, combo{"standard", "0-200k", geo, "fast"})
			}
		}
		for _, c := range combos {
			sk := hash4(seed, uint64(wi)<<20|uint64(pi), hashString(m.ID+"|"+c.tier+"|"+c.cw+"|"+c.geo+"|"+c.speed), 0x5e)
			s := &series{
				Key: sk, WS: ws, APIKey: key, Model: m,
				Tier: c.tier, CW: c.cw, Geo: c.geo, Speed: c.speed,
				FromMin: from, UntilMin: until,
			}
			s.Base = 2000 << pick(sk, 0, 9) * (1000 + pick(sk>>8, 0, 999)) / 1000
			s.PActive = pick(sk>>20, 300, 900)
			s.Density = pick(sk>>30, 150, 900)
			s.Burst = pick(sk>>40, 10, 60)
			switch c.tier {
			case "batch":
				s.PActive, s.Burst, s.Density = pick(sk>>20, 60, 200), 150, pick(sk>>30, 600, 1000)
			case "priority":
				s.PActive = pick(sk>>20, 400, 800)
			case "flex":
				s.PActive, s.Base = pick(sk>>20, 80, 250), s.Base/4+100
			}
			if key == nil && svac == nil {
				s.Base = s.Base/10 + 200
				s.PActive = pick(sk>>20, 100, 300)
			}
			if c.cw == "200k-1M" {
				s.Base = s.Base*5 + 200_000
				s.PActive = pick(sk>>20, 50, 300)
			}
			if c.speed == "fast" {
				s.PActive = pick(sk>>20, 50, 250)
			}
			rh := mix64(sk ^ 0x7a7105)
			s.Ratio[cUncached] = 1_000_000
			s.Ratio[cOutput] = pick(rh, 100_000, 600_000)
			if (rh>>20)%100 < 70 {
				s.Ratio[cCacheRead] = pick(rh>>24, 500_000, 8_000_000)
				s.Ratio[cCache5m] = pick(rh>>36, 50_000, 400_000)
				if (rh>>48)%100 < 30 {
					s.Ratio[cCache1h] = pick(rh>>52, 20_000, 200_000)
				}
			}
			s.Ratio[cRequests] = pick(mix64(rh+1), 200, 2000)
			if c.tier == "priority" || (c.tier != "batch" && (mix64(rh)%100) < 35) {
				s.Ratio[cWebSearch] = pick(mix64(rh)>>8, 20, 200)
			}
			s.setDims(account, svac)
			s.Prices = priceTable(m, c.tier, c.cw, c.geo, c.speed)
			g.Series = append(g.Series, s)
		}
	}
}

func (g *org) newActor(seed uint64, idx uint64, u *user, k *apiKey) *ccActor {
	ah := hash4(seed, 0xcc, idx, 0)
	a := &ccActor{User: u, Key: k, HKey: ah, FromHour: floorDiv(g.Origin.Unix(), 3600), UntilHour: math.MaxInt64}
	nt := 1 + int(ah%2)
	if k != nil {
		nt = 1
	}
	t0 := int((ah >> 8) % uint64(len(terminals)))
	for i := 0; i < nt; i++ {
		a.Terminals = append(a.Terminals, terminals[(t0+i*2)%len(terminals)])
	}
	sort.Strings(a.Terminals)
	if k != nil {
		a.Terminals = []string{[]string{"tmux", "ssh-session"}[(ah>>8)%2]}
		if !k.Until.IsZero() {
			a.UntilHour = floorDiv(k.Until.Unix(), 3600)
		}
		if c := ceilDiv(k.CreatedAt.Unix(), 3600); c > a.FromHour {
			a.FromHour = c
		}
	}
	// Primary model first, then a small model for background work.
	p := int((ah >> 16) % uint64(len(g.Models)))
	a.Models = append(a.Models, g.Models[p])
	if len(g.Models) > 1 {
		a.Models = append(a.Models, g.Models[(p+1)%len(g.Models)])
	}
	a.AllTools = (ah>>24)%3 == 0
	a.PActive = pick(ah>>32, 250, 700)
	return a
}

func slicesContainsModel(ms []*modelInfo, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}
