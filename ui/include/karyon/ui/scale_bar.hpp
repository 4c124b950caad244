#pragma once
// Pure helpers for what the viewer tells the user about scale: the scale bar (a round length in µm
// close to a target width on screen) and the magnification text for the status bar.
#include <QString>
#include <optional>

namespace karyon::ui {

struct ScaleBar {
  double lengthPixels = 0;  // on screen
  QString label;            // "50 µm", "1 mm", or "200 px" when the slide has no µm/px
};

// umPerScreenPixel <= 0 or empty: the slide's µm/px is unknown and the bar is labelled in level-0
// slide pixels instead (`level0PerScreenPixel` = viewer downsample). The length is 1, 2 or 5 x 10^k
// units, the largest such that the bar is at most `maxPixels` wide.
ScaleBar chooseScaleBar(std::optional<double> umPerScreenPixel, double level0PerScreenPixel, double maxPixels);

// "10.0x" relative to the objective power when known; else "0.50 µm/px" on screen when µm/px is
// known; else "downsample 4.0".
QString magnificationText(std::optional<double> objectivePower, std::optional<double> mppLevel0, double downsample);

}  // namespace karyon::ui
