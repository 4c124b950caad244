#pragma once
// NucleusOverlay's low-zoom view: a nucleus-density heatmap of the whole slide (postprocess::
// compute_heatmap, one grid computed on QtConcurrent's pool with its own store connection, one at a
// time) and its legend.
#include <QImage>
#include <QObject>
#include <QRectF>
#include <QString>
#include <cstdint>

class QPainter;

namespace karyon::ui {

struct ViewTransform;

class HeatmapLayer : public QObject {
  Q_OBJECT
 public:
  explicit HeatmapLayer(QObject* parent = nullptr);

  // Forgets the grid; results of a computation still running are dropped.
  void reset();
  // Computes the grid of the store at `storePath` over a slide of width x height level-0 px at
  // mppX x mppY µm/px (0: unknown, 0.5 assumed); while one runs, only notes that another is wanted.
  void compute(const QString& storePath, std::int64_t width, std::int64_t height, double mppX, double mppY);
  bool isRunning() const { return m_running; }
  bool computeAgain() const { return m_again; }

  const QImage& image() const { return m_image; }
  double max() const { return m_max; }

  void paint(QPainter& p, const ViewTransform& view, double opacity) const;
  // The colour scale in the top right corner of a viewer `viewerWidth` px wide.
  void paintLegend(QPainter& p, int viewerWidth, bool mppKnown) const;

 signals:
  void updated();  // a computation finished (a failed one is logged, the grid kept)

 private:
  QImage m_image;  // one pixel per grid cell, ARGB, full alpha (opacity applied when painting)
  QRectF m_rect;   // level-0 area the grid covers
  double m_max = 0;
  bool m_running = false;
  bool m_again = false;
  int m_generation = 0;  // bumped by reset(): late results are dropped
};

}  // namespace karyon::ui
