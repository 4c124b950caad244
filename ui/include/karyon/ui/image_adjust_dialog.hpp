#pragma once
// View → Adjust Image: brightness, contrast and gamma sliders for the slide view (display only:
// SlideViewer::setDisplayAdjustment; detection and measurements read the slide itself). Changes
// apply as the sliders move; Reset returns to the unadjusted image. Non-modal.
#include <QDialog>

class QLabel;
class QSlider;

namespace karyon::ui {

class SlideViewer;

class ImageAdjustDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ImageAdjustDialog(SlideViewer* viewer, QWidget* parent = nullptr);
  // Slider positions: brightness -100..100 (% of full scale), contrast and gamma as
  // 100 * log2(value) (-232..232: 0.2..5, the middle is 1).
  QSlider* brightnessSlider() const { return m_brightness; }
  QSlider* contrastSlider() const { return m_contrast; }
  QSlider* gammaSlider() const { return m_gamma; }
  void reset();

 private:
  void apply();
  void syncFromViewer();

  SlideViewer* m_viewer;
  QSlider* m_brightness = nullptr;
  QSlider* m_contrast = nullptr;
  QSlider* m_gamma = nullptr;
  QLabel* m_values = nullptr;
  bool m_syncing = false;
};

}  // namespace karyon::ui
