package site

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"strings"
)

// Colours of the stylesheet. Every text colour meets WCAG 2.1 AA (4.5:1)
// on the backgrounds it is used on; TestContrast checks the pairs listed
// in contrastPairs.
const (
	colText       = "#1a1a1a"
	colMuted      = "#4a4a4a"
	colBackground = "#ffffff"
	colLink       = "#0a4f9e"
	colRule       = "#d0d0d0"
	colBanner     = "#fff3cd" // background of exercise and test banners
	colBannerLine = "#b45309"
	colDown       = "#a4161a"
	colLimited    = "#8a4b00"
	colUp         = "#1e6b2f"
	colPast       = "#6b6b6b"
)

// contrastPairs are the text and background colours used together.
var contrastPairs = [][2]string{
	{colText, colBackground}, {colMuted, colBackground}, {colLink, colBackground},
	{colText, colBanner}, {colBackground, colLink}, {colDown, colBackground},
	{colLimited, colBackground}, {colUp, colBackground}, {colPast, colBackground},
}

// stylesheet is the one inline stylesheet of every page: a single column
// of at most 42rem that reflows down to 320 px, system fonts, visible
// focus, no images and no web fonts. German compounds are hyphenated, by
// the browsers that can, in headings and on narrow screens, rather than
// broken anywhere.
var stylesheet = strings.NewReplacer(
	"TEXT", colText, "MUTED", colMuted, "BG", colBackground, "LINK", colLink, "RULE", colRule,
	"BANNERLINE", colBannerLine, "BANNER", colBanner, "DOWN", colDown, "LIMITED", colLimited, "UP", colUp,
	"PAST", colPast,
).Replace(`
*{box-sizing:border-box}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:TEXT;background:BG}
header,main,footer{max-width:42rem;margin:0 auto;padding:0 1rem}
main{overflow-wrap:break-word}
h1,h2,h3{hyphens:auto}
@media (max-width:30rem){main{hyphens:auto}}
a{color:LINK}
a:focus{outline:3px solid BANNERLINE;outline-offset:2px}
.skip{position:absolute;left:-10000px}
.skip:focus{position:static;display:block;padding:.5rem 1rem;background:LINK;color:BG}
header{padding-top:.75rem;padding-bottom:.5rem;border-bottom:4px solid LINK}
header p{margin:0;font-weight:bold}
h1{font-size:1.6rem;line-height:1.25;margin:1rem 0 .5rem}
h2{font-size:1.3rem;line-height:1.3;margin:2rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid RULE}
h3{font-size:1.15rem;line-height:1.3;margin:0 0 .25rem}
h4,h5,h6{font-size:1rem;margin:1rem 0 .25rem}
article{margin:1rem 0;padding:.25rem 0 .25rem .75rem;border-left:4px solid LINK}
article.past{border-color:PAST}
pre{white-space:pre-wrap}
.meta{margin:.25rem 0;color:MUTED;font-size:.95rem}
.banner{margin:.75rem 0;padding:.5rem .75rem;border:2px solid BANNERLINE;background:BANNER;color:TEXT;font-weight:bold}
.state{font-weight:bold}
.down{color:DOWN}.limited{color:LIMITED}.up{color:UP}
ul.plain{padding:0;list-style:none}
ul.plain li{padding:.3rem 0;border-bottom:1px solid RULE}
dl{margin:0}dt{font-weight:bold}dd{margin:0 0 .5rem}
footer{margin-top:2.5rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid RULE;font-size:.95rem}
footer a{display:inline-block;margin:0 1rem .5rem 0}
`)

// styleCSS is the stylesheet for html/template.
var styleCSS = template.CSS(stylesheet)

// metaContentSecurityPolicy allows a page its own stylesheet and nothing
// else: no scripts, no forms, nothing loaded from anywhere. Pages carry it
// in a meta element, so that an export keeps it on any web space.
var metaContentSecurityPolicy = func() string {
	sum := sha256.Sum256([]byte(stylesheet))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'"
}()

// contentSecurityPolicy is the served pages' header: the meta policy, and
// no framing, which only a header can forbid.
var contentSecurityPolicy = metaContentSecurityPolicy + "; frame-ancestors 'none'"
