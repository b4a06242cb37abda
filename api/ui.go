package api

import (
	"embed"
	"mime"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
)

// The case worker console: a static page driven entirely by the REST API.
//
//go:embed ui
var uiFiles embed.FS

type uiPath struct {
	File string `path:"file"`
}

func (s *Server) uiRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/", summary: "The case worker console (HTML)", public: true,
			resp: new(string), handle: func(c *gin.Context) error { return serveUI(c, "ui/index.html") }},
		{method: http.MethodGet, path: "/ui/*file", summary: "The console (at /ui/, where sign-in returns to) and its scripts and styles",
			public: true, req: new(uiPath), resp: new(string), handle: func(c *gin.Context) error {
				if c.Param("file") == "/" {
					return serveUI(c, "ui/index.html")
				}
				return serveUI(c, "ui"+c.Param("file"))
			}},
	}
}

func serveUI(c *gin.Context, name string) error {
	body, err := uiFiles.ReadFile(name)
	if err != nil {
		return notFound("file")
	}
	c.Header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, mime.TypeByExtension(path.Ext(name)), body)
	return nil
}
