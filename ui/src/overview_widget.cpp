#include "karyon/ui/overview_widget.hpp"

#include <QMouseEvent>
#include <QPainter>

#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

OverviewWidget::OverviewWidget(SlideViewer* viewer, QWidget* parent) : QWidget(parent), m_viewer(viewer) {
  setMinimumSize(120, 100);
  setCursor(Qt::PointingHandCursor);
  setToolTip(tr("Click or drag to move the view"));
  connect(viewer, &SlideViewer::thumbnailReady, this, &OverviewWidget::setThumbnail);
  connect(viewer, &SlideViewer::viewChanged, this, [this] {
    // A new slide resets the thumbnail until its own arrives.
    if (m_viewer && m_viewer->thumbnail().isNull()) {
      m_pixmap = QPixmap();
      m_downsample = 0;
    }
    update();
  });
}

void OverviewWidget::setThumbnail(const QImage& image, double downsample) {
  m_pixmap = QPixmap::fromImage(image);
  m_downsample = downsample;
  update();
}

QRectF OverviewWidget::imageRect() const {
  if (m_pixmap.isNull()) return {};
  const QSizeF s = QSizeF(m_pixmap.size()).scaled(QSizeF(size()) - QSizeF(8, 8), Qt::KeepAspectRatio);
  return QRectF(QPointF((width() - s.width()) / 2, (height() - s.height()) / 2), s);
}

QPointF OverviewWidget::toLevel0(const QPointF& widgetPos) const {
  const QRectF r = imageRect();
  if (r.isEmpty()) return {};
  const double thumbPerWidget = m_pixmap.width() / r.width();
  return (widgetPos - r.topLeft()) * thumbPerWidget * m_downsample;
}

void OverviewWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QRectF r = imageRect();
  if (r.isEmpty() || !m_viewer || !m_viewer->hasSlide()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, m_viewer && m_viewer->hasSlide() ? tr("Loading overview\u2026") : tr("No slide"));
    return;
  }
  p.setRenderHint(QPainter::SmoothPixmapTransform, true);
  p.drawPixmap(r, m_pixmap, QRectF(m_pixmap.rect()));
  // Visible area, level-0 -> widget.
  const double scale = r.width() / (m_pixmap.width() * m_downsample);
  const QRectF v = m_viewer->visibleLevel0();
  QRectF box(r.topLeft() + v.topLeft() * scale, v.size() * scale);
  // Keep the outline visible when zoomed far in (a sub-pixel box would vanish).
  if (box.width() < 4 || box.height() < 4) box = QRectF(box.center() - QPointF(2, 2), QSizeF(4, 4));
  p.setPen(QPen(QColor(220, 20, 60), 2));
  p.setBrush(Qt::NoBrush);
  p.drawRect(box);
}

void OverviewWidget::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton && m_viewer && !imageRect().isEmpty()) {
    m_viewer->centerOn(toLevel0(event->position()));
    event->accept();
    return;
  }
  QWidget::mousePressEvent(event);
}

void OverviewWidget::mouseMoveEvent(QMouseEvent* event) {
  if ((event->buttons() & Qt::LeftButton) && m_viewer && !imageRect().isEmpty()) {
    m_viewer->centerOn(toLevel0(event->position()));
    event->accept();
    return;
  }
  QWidget::mouseMoveEvent(event);
}

}  // namespace karyon::ui
