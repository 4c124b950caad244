#pragma once
// Overview panel: the slide thumbnail with the viewer's visible area outlined; clicking or dragging
// in it centres the viewer there. Follows one SlideViewer (its thumbnail and viewChanged signal).
#include <QImage>
#include <QPixmap>
#include <QPointer>
#include <QWidget>

namespace karyon::ui {

class SlideViewer;

class OverviewWidget : public QWidget {
  Q_OBJECT
 public:
  explicit OverviewWidget(SlideViewer* viewer, QWidget* parent = nullptr);
  QSize sizeHint() const override { return QSize(260, 220); }
  // Where the thumbnail is drawn inside this widget (empty before it arrives).
  QRectF imageRect() const;
  // Widget position -> level-0 slide pixels (through the thumbnail's downsample).
  QPointF toLevel0(const QPointF& widgetPos) const;

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  void setThumbnail(const QImage& image, double downsample);

  QPointer<SlideViewer> m_viewer;
  QPixmap m_pixmap;
  double m_downsample = 0;  // level-0 px per thumbnail px
};

}  // namespace karyon::ui
