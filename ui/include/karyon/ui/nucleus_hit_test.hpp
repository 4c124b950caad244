#pragma once
// Hit testing on the outlines NucleusOverlay shows: which nucleus a click means, which vertex of
// the selected outline a press grabs. Only nuclei `shown` accepts count (the outline filters).
#include <QPointF>
#include <QPolygonF>
#include <functional>
#include <vector>

#include "karyon/ui/outline_cache.hpp"
#include "karyon/ui/view_transform.hpp"

namespace karyon::ui {

using ShapeFilter = std::function<bool(const NucleusShape&)>;

// The nucleus whose outline (less its holes) contains the level-0 point; the smallest where they
// overlap; 0 when none.
qint64 nucleusContaining(const std::vector<NucleusShape>& shapes, const QPointF& level0, const ShapeFilter& shown);
// The nucleus whose outline passes nearest the level-0 point, within `slop` level-0 px; 0 when none.
qint64 nearestOutline(const std::vector<NucleusShape>& shapes, const QPointF& level0, double slop,
                      const ShapeFilter& shown);
// The vertex of `outline` (level-0) within a 7 px grab radius of widget point `widgetPos`; -1 when none.
int vertexAt(const QPolygonF& outline, const QPointF& widgetPos, const ViewTransform& view);

}  // namespace karyon::ui
