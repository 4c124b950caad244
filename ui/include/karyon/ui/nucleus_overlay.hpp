#pragma once
// The results layer over the slide: nucleus outlines at high zoom, a nucleus-density heatmap at low
// zoom, the selected nucleus, and the review tools (select, draw a nucleus, drag outline vertices,
// rubber-band a region for detection).
//
// Level of detail: outlines are drawn while the view shows at most kOutlineMaxDownsample level-0
// pixels per screen pixel and the viewport holds at most kMaxOutlines nuclei; otherwise the heatmap.
// So a slide with a million nuclei stays interactive: outlines come from an R*Tree query of the
// viewport (plus a margin, so small pans need no query) on a worker thread with its own store
// connection, one query at a time, results cached until the view leaves the cached area or
// refresh() is called; the heatmap is one grid computed on a worker (compute_heatmap).
//
// Threads: GUI thread only, except the queries, which run on QtConcurrent's pool.
//
// Its parts: the outline cache (outline_cache.hpp), the heatmap (heatmap_layer.hpp), hit testing
// (nucleus_hit_test.hpp) and the review tools' input and drawing (nucleus_review_tools.cpp); this
// file and nucleus_overlay.cpp put them together: session, colours, filters, selection, painting.
#include <QColor>
#include <QImage>
#include <QObject>
#include <QPointer>
#include <QPolygonF>
#include <QSet>
#include <QString>
#include <array>
#include <optional>
#include <vector>

#include "karyon/core/nucleus.hpp"
#include "karyon/ui/heatmap_layer.hpp"
#include "karyon/ui/outline_cache.hpp"
#include "karyon/ui/overlay_layer.hpp"

namespace karyon::ui {

class ReviewSession;
class SlideViewer;

class NucleusOverlay : public QObject, public OverlayLayer {
  Q_OBJECT
 public:
  enum class ColorMode { ReviewState, Class, Score };
  enum class Tool { Navigate, Region, Draw };
  static constexpr double kOutlineMaxDownsample = 4.0;
  static constexpr std::size_t kMaxOutlines = OutlineCache::kMaxOutlines;

  explicit NucleusOverlay(SlideViewer* viewer, QObject* parent = nullptr);
  ~NucleusOverlay() override;

  // The results to show (nullptr: none). Starts the queries and the heatmap.
  void setSession(ReviewSession* session);
  ReviewSession* session() const;

  QString name() const override { return tr("Nuclei"); }
  bool isVisible() const override { return m_visible; }
  void setVisible(bool visible);
  void paint(QPainter& painter, const ViewTransform& view, const QRectF& visibleLevel0) override;
  bool mousePress(QMouseEvent* event, const ViewTransform& view) override;
  void mouseMove(QMouseEvent* event, const ViewTransform& view) override;
  void mouseRelease(QMouseEvent* event, const ViewTransform& view) override;
  bool mouseDoubleClick(QMouseEvent* event, const ViewTransform& view) override;
  bool keyPress(QKeyEvent* event) override;

  void setColorMode(ColorMode mode);
  ColorMode colorMode() const { return m_colorMode; }
  void setHeatmapOpacity(double opacity);  // 0..1
  double heatmapOpacity() const { return m_heatmapOpacity; }
  void setTool(Tool tool);
  Tool tool() const { return m_tool; }

  // Re-query the viewport (new nuclei were stored) and, when `heatmap`, recompute the heatmap.
  void refresh(bool heatmap = false);
  // Whether the current view shows outlines (else the heatmap).
  bool showsOutlines() const;
  bool queryPending() const { return m_outlines.isRunning(); }
  bool heatmapPending() const { return m_heatmap.isRunning(); }
  // The nuclei fetched for the cached area (tests, hit testing).
  const std::vector<NucleusShape>& shapes() const { return m_outlines.shapes(); }
  bool outlinesTruncated() const { return m_outlines.truncated(); }
  const QImage& heatmapImage() const { return m_heatmap.image(); }
  double heatmapMax() const { return m_heatmap.max(); }

  // Point-in-polygon on the fetched nuclei (smallest one wins where they overlap), else the nearest
  // outline within 4 screen pixels; 0 when none.
  qint64 nucleusAt(const QPointF& level0) const;
  qint64 selected() const { return m_selected; }
  void select(qint64 id);

  QColor colorFor(const NucleusShape& s) const;
  // Outline colour of a review state (colour-blind safe: Okabe-Ito; postprocess::state_colour, the
  // colour exports give the state's QuPath class).
  static QColor stateColor(core::ReviewState state);
  // A class's colour in ColorMode::Class: postprocess::class_colour, the colour of the class in
  // GeoJSON exports, so the app and QuPath show a class alike.
  static QColor classColor(const QString& className);

  // Outline filters (display only; the store and exports are untouched). A hidden nucleus is not
  // drawn and cannot be clicked; the selected one stays visible.
  void setStateShown(core::ReviewState state, bool shown);
  bool isStateShown(core::ReviewState state) const { return m_stateShown[static_cast<int>(state)]; }
  void setClassShown(const QString& className, bool shown);
  bool isClassShown(const QString& className) const { return !m_hiddenClasses.contains(className); }
  bool isShown(const NucleusShape& s) const;

 signals:
  void selectionChanged(qint64 id);
  void regionChosen(QRect level0);  // rubber band finished (Region tool)
  void toolChanged(karyon::ui::NucleusOverlay::Tool tool);
  void outlinesUpdated();
  void heatmapUpdated();

 private:
  void onViewChanged();
  void startQuery();
  void onOutlinesUpdated();
  void startHeatmap();
  void onHeatmapUpdated();
  void onEdited(qint64 id, const QRectF& area);
  void finishDrawing();
  void paintOutlines(QPainter& p, const ViewTransform& view, const QRectF& visible);
  void paintTools(QPainter& p, const ViewTransform& view);

  QPointer<SlideViewer> m_viewer;
  QPointer<ReviewSession> m_session;
  bool m_visible = true;
  std::array<bool, 5> m_stateShown{true, true, true, true, true};  // by core::ReviewState
  QSet<QString> m_hiddenClasses;
  ColorMode m_colorMode = ColorMode::ReviewState;
  Tool m_tool = Tool::Navigate;
  double m_heatmapOpacity = 0.55;

  OutlineCache m_outlines;
  HeatmapLayer m_heatmap;

  qint64 m_selected = 0;
  int m_dragVertex = -1;
  QPolygonF m_dragPolygon;  // selected outline being edited (level-0)
  std::optional<QPointF> m_bandStart, m_bandEnd;  // widget px
  QPolygonF m_drawing;  // level-0 points of the nucleus being drawn
  QPointF m_hover;      // widget px, for the rubber line while drawing
};

}  // namespace karyon::ui
