#include "karyon/ui/nucleus_hit_test.hpp"

#include <algorithm>

namespace karyon::ui {

qint64 nucleusContaining(const std::vector<NucleusShape>& shapes, const QPointF& p, const ShapeFilter& shown) {
  qint64 best = 0;
  double bestArea = 0;
  for (const auto& s : shapes) {
    if (!shown(s) || !s.bbox.adjusted(-0.5, -0.5, 0.5, 0.5).contains(p)) continue;
    if (!s.outer.containsPoint(p, Qt::OddEvenFill)) continue;
    bool inHole = false;
    for (const auto& h : s.holes) inHole = inHole || h.containsPoint(p, Qt::OddEvenFill);
    if (inHole) continue;
    const double area = s.bbox.width() * s.bbox.height();
    if (!best || area < bestArea) best = s.id, bestArea = area;
  }
  return best;
}

qint64 nearestOutline(const std::vector<NucleusShape>& shapes, const QPointF& p, double slop, const ShapeFilter& shown) {
  qint64 best = 0;
  double bestD = slop * slop;
  for (const auto& s : shapes) {
    if (!shown(s) || !s.bbox.adjusted(-slop, -slop, slop, slop).contains(p)) continue;
    for (int i = 0; i < s.outer.size(); ++i) {
      const QPointF a = s.outer[i], b = s.outer[(i + 1) % s.outer.size()];
      const QPointF ab = b - a;
      const double len2 = QPointF::dotProduct(ab, ab);
      const double t = len2 > 0 ? std::clamp(QPointF::dotProduct(p - a, ab) / len2, 0.0, 1.0) : 0.0;
      const QPointF d = p - (a + t * ab);
      const double dd = QPointF::dotProduct(d, d);
      if (dd <= bestD) best = s.id, bestD = dd;
    }
  }
  return best;
}

int vertexAt(const QPolygonF& outline, const QPointF& widgetPos, const ViewTransform& view) {
  int best = -1;
  double bestD = 7 * 7;  // px², a comfortable grab radius
  for (int i = 0; i < outline.size(); ++i) {
    const QPointF d = view.toWidget(outline[i]) - widgetPos;
    const double dd = d.x() * d.x() + d.y() * d.y();
    if (dd <= bestD) best = i, bestD = dd;
  }
  return best;
}

}  // namespace karyon::ui
