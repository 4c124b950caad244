// karyon: Qt 6 desktop app for nucleus detection and review in whole-slide images.
//   karyon [SLIDE] [--model CARD.json] [--score-threshold T] [--device D] [--detect] [--view X,Y,D] [--window-size WxH]
//          [--color-by state|class|score] [--select-next N] [--screenshot PATH [--screenshot-delay-ms N]]
// --detect runs detection on the whole slide once it is open. --screenshot grabs the main window once
// the slide's thumbnail and visible tiles have loaded, detection (if any) has finished and the
// overlay has its data (and at least N ms have passed), writes PNG to PATH and quits: used for
// docs/screenshots and smoke tests. Errors go to a message box, or to stderr (exit status 2) in
// screenshot mode.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTimer>
#include <array>
#include <cstdio>
#include <optional>
#include <string_view>

#include "karyon/ui/application.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace {

// The command line's options, for the two parsers main() may make.
struct Options {
  const QCommandLineOption screenshot{QStringLiteral("screenshot"),
                                      QStringLiteral("Save a PNG of the window to <path> once loaded, then quit."),
                                      QStringLiteral("path")};
  const QCommandLineOption delay{QStringLiteral("screenshot-delay-ms"),
                                 QStringLiteral("Minimum wait before the screenshot (default 500)."), QStringLiteral("ms"),
                                 QStringLiteral("500")};
  const QCommandLineOption size{QStringLiteral("window-size"),
                                QStringLiteral("Initial window size WxH (default: last session's)."), QStringLiteral("WxH")};
  const QCommandLineOption view{QStringLiteral("view"),
                                QStringLiteral("Initial view: centre X,Y in level-0 pixels and downsample D "
                                               "(level-0 pixels per screen pixel), e.g. 1100,1500,1."),
                                QStringLiteral("X,Y,D")};
  const QCommandLineOption model{QStringLiteral("model"),
                                 QStringLiteral("Detection model card (JSON); remembered for later sessions."),
                                 QStringLiteral("card")};
  const QCommandLineOption threshold{QStringLiteral("score-threshold"),
                                     QStringLiteral("Minimum detection score, 0..1 (default: the model card's)."),
                                     QStringLiteral("t")};
  const QCommandLineOption device{QStringLiteral("device"),
                                  QStringLiteral("Detection device: cpu, cuda:0, cuda:all (default: last used, else cpu)."),
                                  QStringLiteral("device")};
  const QCommandLineOption detect{QStringLiteral("detect"), QStringLiteral("Run detection on the whole slide once it is open.")};
  const QCommandLineOption color{QStringLiteral("color-by"), QStringLiteral("Colour nucleus outlines by state, class or score."),
                                 QStringLiteral("mode")};
  const QCommandLineOption select{QStringLiteral("select-next"),
                                  QStringLiteral("After loading results, step N times through the review queue "
                                                 "(screenshots of the review state)."),
                                  QStringLiteral("n")};

  void addTo(QCommandLineParser& parser) const {
    parser.setApplicationDescription(QStringLiteral("Karyon: nucleus detection in H&E whole-slide images (viewer)"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("slide"), QStringLiteral("Slide to open (SVS, NDPI, MRXS, TIFF, ...)."),
                                 QStringLiteral("[slide]"));
    for (const QCommandLineOption* o : {&model, &threshold, &detect, &device, &color, &select, &screenshot, &view, &delay, &size})
      parser.addOption(*o);
  }
};

// Whether the command line asks only for text (help or version), which is answered without a
// display, so that it works over ssh, in scripts and in CI. A plain scan: QApplication has not yet
// taken its own arguments (-platform, -display, ...) out of argv, which a parser would refuse.
bool wantsTextOnly(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a == "--") break;
    if (a == "-h" || a == "-?" || a == "--help" || a == "-help" || a == "--help-all" || a == "-v" || a == "--version")
      return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  karyon::ui::Application::setIdentity();
  const Options options;
  if (wantsTextOnly(argc, argv)) {
    // QApplication would connect to the display first (and abort without one): a core application
    // is enough to print the help or the version. Other options on the line are not checked.
    QCoreApplication core(argc, argv);
    QCommandLineParser parser;
    options.addTo(parser);
    parser.parse(core.arguments());
    if (parser.isSet(QStringLiteral("version"))) parser.showVersion();
    parser.showHelp(0);  // exits
  }
  karyon::ui::Application app(argc, argv);

  QCommandLineParser parser;
  options.addTo(parser);
  parser.process(app);
  const QCommandLineOption& screenshotOption = options.screenshot;
  const QCommandLineOption& delayOption = options.delay;
  const QCommandLineOption& sizeOption = options.size;
  const QCommandLineOption& viewOption = options.view;
  const QCommandLineOption& modelOption = options.model;
  const QCommandLineOption& thresholdOption = options.threshold;
  const QCommandLineOption& deviceOption = options.device;
  const QCommandLineOption& detectOption = options.detect;
  const QCommandLineOption& colorOption = options.color;
  const QCommandLineOption& selectOption = options.select;

  const QString screenshot = parser.value(screenshotOption);
  bool delayOk = false;
  const int delayMs = parser.value(delayOption).toInt(&delayOk);
  if (!delayOk || delayMs < 0) {
    std::fprintf(stderr, "karyon: --screenshot-delay-ms wants a non-negative integer\n");
    return 1;
  }

  karyon::ui::MainWindow window;
  if (parser.isSet(sizeOption)) {
    const QStringList wh = parser.value(sizeOption).split(QLatin1Char('x'));
    if (wh.size() != 2 || wh[0].toInt() <= 0 || wh[1].toInt() <= 0) {
      std::fprintf(stderr, "karyon: --window-size wants WxH, e.g. 1400x900\n");
      return 1;
    }
    window.resize(wh[0].toInt(), wh[1].toInt());
  }
  if (!screenshot.isEmpty()) {
    window.setErrorReporter([](const QString& title, const QString& message) {
      std::fprintf(stderr, "karyon: %s: %s\n", qPrintable(title), qPrintable(message));
    });
  }
  if (parser.isSet(modelOption)) window.setModelPath(QFileInfo(parser.value(modelOption)).absoluteFilePath());
  if (parser.isSet(thresholdOption)) {
    bool ok = false;
    const double t = parser.value(thresholdOption).toDouble(&ok);
    if (!ok || t < 0 || t >= 1) {
      std::fprintf(stderr, "karyon: --score-threshold wants a number in [0, 1)\n");
      return 1;
    }
    window.setScoreThreshold(t);
  }
  if (parser.isSet(deviceOption)) window.setDevice(parser.value(deviceOption));
  if (parser.isSet(colorOption)) {
    const QString mode = parser.value(colorOption);
    using Mode = karyon::ui::NucleusOverlay::ColorMode;
    if (mode == QLatin1String("state")) window.overlay()->setColorMode(Mode::ReviewState);
    else if (mode == QLatin1String("class")) window.overlay()->setColorMode(Mode::Class);
    else if (mode == QLatin1String("score")) window.overlay()->setColorMode(Mode::Score);
    else {
      std::fprintf(stderr, "karyon: --color-by wants state, class or score\n");
      return 1;
    }
  }
  const int selectNext = parser.value(selectOption).toInt();
  window.show();

  const QStringList args = parser.positionalArguments();
  if (args.size() > 1) {
    std::fprintf(stderr, "karyon: one slide at a time\n");
    return 1;
  }
  // The --view request is applied once the slide is open (opening is asynchronous).
  std::optional<std::array<double, 3>> view;
  if (parser.isSet(viewOption)) {
    const QStringList v = parser.value(viewOption).split(QLatin1Char(','));
    bool okX = false, okY = false, okD = false;
    const double x = v.value(0).toDouble(&okX), y = v.value(1).toDouble(&okY), d = v.value(2).toDouble(&okD);
    if (v.size() != 3 || !okX || !okY || !okD || d <= 0) {
      std::fprintf(stderr, "karyon: --view wants X,Y,D with D > 0, e.g. 1100,1500,1\n");
      return 1;
    }
    view = std::array<double, 3>{x, y, d};
  }
  bool failed = false;
  bool detecting = parser.isSet(detectOption);
  bool selected = selectNext <= 0;
  QObject::connect(&window, &karyon::ui::MainWindow::openFailed, &app, [&] { failed = true; });
  QObject::connect(&window, &karyon::ui::MainWindow::slideOpened, &app, [&] {
    if (view) {
      window.viewer()->setDownsample((*view)[2]);
      window.viewer()->centerOn(QPointF((*view)[0], (*view)[1]));
      view.reset();
    }
    if (detecting && !window.runDetection()) failed = true;
  });
  QObject::connect(&window, &karyon::ui::MainWindow::detectionFinished, &app, [&] { detecting = false; });
  QObject::connect(&window, &karyon::ui::MainWindow::detectionStopped, &app, [&] {
    detecting = false;
    failed = true;
  });
  if (!args.isEmpty()) window.openSlide(args.first());
  if (screenshot.isEmpty()) return app.exec();

  // Screenshot mode: wait for the minimum delay, then until the viewer is idle (thumbnail and all
  // visible tiles loaded), with a cap so that a stuck read cannot hang a script.
  QElapsedTimer clock;
  clock.start();
  int status = 0;
  auto* poll = new QTimer(&app);
  QObject::connect(poll, &QTimer::timeout, &app, [&] {
    if (failed) {
      poll->stop();
      app.exit(2);
      return;
    }
    bool ready = !window.isOpening() && !detecting && !window.isBusy() &&
                 (!window.viewer()->hasSlide() || window.viewer()->isIdle());
    if (ready && !selected) {
      // Step through the review queue once the results (and the queue) are loaded; the jump moves
      // the view, so wait for the next idle before grabbing.
      selected = true;
      for (int i = 0; i < selectNext; ++i) window.nextInQueue();
      return;
    }
    // Detection on a CPU can take minutes on a real slide; the cap only guards against a hang.
    const qint64 cap = parser.isSet(detectOption) ? 1800000 : 60000;
    if (clock.elapsed() < delayMs || (!ready && clock.elapsed() < delayMs + cap)) return;
    poll->stop();
    if (!ready) std::fprintf(stderr, "karyon: still busy at the time limit; taking the screenshot anyway\n");
    // Quality 0 = strongest PNG compression (lossless either way; screenshots go into docs/).
    if (!window.grab().save(screenshot, "PNG", 0)) {
      std::fprintf(stderr, "karyon: cannot write %s\n", qPrintable(screenshot));
      status = 3;
    }
    app.exit(status);
  });
  poll->start(50);
  return app.exec();
}
