#include "karyon/ui/heatmap_layer.hpp"

#include <QDebug>
#include <QFutureWatcher>
#include <QLinearGradient>
#include <QPainter>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>

#include "karyon/postprocess/heatmap.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "karyon/ui/view_transform.hpp"

namespace karyon::ui {

namespace {
struct HeatmapResult {
  QImage image;
  QRectF rect;
  double max = 0;
  int generation = 0;
  QString error;
};
}  // namespace

HeatmapLayer::HeatmapLayer(QObject* parent) : QObject(parent) {}

void HeatmapLayer::reset() {
  ++m_generation;
  m_image = QImage();
  m_max = 0;
  m_running = false;
  m_again = false;
}

void HeatmapLayer::compute(const QString& storePath, std::int64_t width, std::int64_t height, double mppX, double mppY) {
  if (m_running) {
    m_again = true;
    return;
  }
  m_running = true;
  m_again = false;
  // Without a known µm/px the grid is still useful as relative density; 0.5 µm/px (20x) is assumed.
  const double mx = mppX > 0 ? mppX : 0.5;
  const double my = mppY > 0 ? mppY : mx;
  // 100 µm cells (as the pipeline's heatmap.png) hold ~10 nuclei in cellular tissue, enough for a
  // density rather than a 0-or-1 checkerboard; coarser on huge slides to bound the grid (~200 cells
  // along the long side).
  const double cellUm = std::max(100.0, std::max(width * mx, height * my) / 200.0);
  const std::filesystem::path path = storePath.toStdString();
  const int generation = m_generation;
  auto* watcher = new QFutureWatcher<HeatmapResult>(this);
  connect(watcher, &QFutureWatcher<HeatmapResult>::finished, this, [this, watcher] {
    watcher->deleteLater();
    HeatmapResult r = watcher->result();
    if (r.generation != m_generation) return;
    m_running = false;
    if (r.error.isEmpty()) {
      m_image = std::move(r.image);
      m_rect = r.rect;
      m_max = r.max;
    } else {
      qWarning().noquote() << "heatmap failed:" << r.error;
    }
    emit updated();
  });
  watcher->setFuture(QtConcurrent::run([=]() -> HeatmapResult {
    HeatmapResult r;
    r.generation = generation;
    try {
      // Own connection: a full scan takes a while and must not hold up viewport queries.
      postprocess::ResultStore store(path);
      const auto grid = postprocess::compute_heatmap(store, width, height, mx, my, cellUm);
      if (grid.cols <= 0 || grid.rows <= 0) return r;
      const double max = postprocess::heatmap_scale_max(grid);
      const auto rgba = postprocess::heatmap_rgba(grid, max);
      QImage image(grid.cols, grid.rows, QImage::Format_RGBA8888);
      for (int y = 0; y < grid.rows; ++y)
        std::memcpy(image.scanLine(y), rgba.data() + static_cast<std::size_t>(y) * grid.cols * 4,
                    static_cast<std::size_t>(grid.cols) * 4);
      r.image = image;
      r.rect = QRectF(0, 0, grid.cols * grid.cell_px_x, grid.rows * grid.cell_px_y);
      r.max = max;
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

void HeatmapLayer::paint(QPainter& p, const ViewTransform& view, double opacity) const {
  p.setOpacity(opacity);
  // Smooth scaling of a coarse grid would suggest a precision the cells do not have.
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.drawImage(view.toWidget(m_rect), m_image);
  p.setOpacity(1);
}

void HeatmapLayer::paintLegend(QPainter& p, int viewerWidth, bool mppKnown) const {
  const QFontMetrics fm = p.fontMetrics();
  const QString title = mppKnown ? tr("Nuclei / mm\u00b2") : tr("Nuclei / mm\u00b2 (at 0.5 \u00b5m/px)");
  const int barW = 160, barH = 10, pad = 6;
  const int boxW = std::max(barW, fm.horizontalAdvance(title)) + 2 * pad;
  const int boxH = 2 * fm.height() + barH + 4 * pad;
  const QRect box(viewerWidth - boxW - 12, 12, boxW, boxH);
  p.setRenderHint(QPainter::Antialiasing, false);
  p.fillRect(box, QColor(255, 255, 255, 215));
  p.setPen(Qt::black);
  p.drawText(QRect(box.left() + pad, box.top() + pad, boxW - 2 * pad, fm.height()), Qt::AlignLeft, title);
  QLinearGradient g(box.left() + pad, 0, box.left() + pad + barW, 0);
  for (int i = 0; i <= 8; ++i) {
    const auto c = postprocess::heatmap_scale_colour(i / 8.0);
    g.setColorAt(i / 8.0, QColor(c[0], c[1], c[2]));
  }
  const QRect bar(box.left() + pad, box.top() + 2 * pad + fm.height(), barW, barH);
  p.fillRect(bar, g);
  const int ty = bar.bottom() + pad;
  p.drawText(QRect(bar.left(), ty, barW, fm.height()), Qt::AlignLeft, QStringLiteral("0"));
  p.drawText(QRect(bar.left(), ty, barW, fm.height()), Qt::AlignRight, QStringLiteral("\u2265 %1").arg(m_max, 0, 'f', 0));
}

}  // namespace karyon::ui
