// The main window on a first run (no saved settings) on a 1600 x 1000 screen (the offscreen
// platform configured by tests/ui/CMakeLists.txt), and its layout kept without a clean quit.
#include <QtTest>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QScreen>
#include <QSettings>

#include "karyon/ui/main_window.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;

class FirstRunTest : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> m_window;
  QStringList m_reports;

  void newWindow() {
    m_window = std::make_unique<MainWindow>();
    m_window->setErrorReporter([this](const QString& t, const QString& m) { m_reports << t + QStringLiteral(": ") + m; });
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }

 private slots:
  void initTestCase() {
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, karyon::uitest::scratchDir().path());
    QCoreApplication::setOrganizationName(QStringLiteral("KaryonTest"));
    QCoreApplication::setApplicationName(QStringLiteral("karyon-first-run-test"));
  }

  void init() {
    QSettings().clear();
    m_reports.clear();
  }

  void cleanup() { m_window.reset(); }

  void first_run_window_fits_the_screen_and_shows_the_review_panel_whole() {
    const QRect screen = QGuiApplication::primaryScreen()->availableGeometry();
    QCOMPARE(screen.size(), QSize(1600, 1000));  // the test's platform configuration
    newWindow();
    const QSize size = m_window->size();
    QVERIFY2(size.width() >= screen.width() * 0.8 && size.height() >= screen.height() * 0.8,
             qPrintable(QStringLiteral("first-run window %1 x %2").arg(size.width()).arg(size.height())));
    QVERIFY(m_window->frameGeometry().width() <= screen.width() + 20);
    // The slide view is the window's main part, not squeezed by the docks.
    QVERIFY2(m_window->viewer()->width() >= size.width() * 0.6,
             qPrintable(QStringLiteral("slide view %1 px of %2").arg(m_window->viewer()->width()).arg(size.width())));

    // With results open, the Review dock shows its counts table whole (down to the Total row).
    QSignalSpy opened(m_window.get(), &MainWindow::slideOpened);
    m_window->openSlide(karyon::uitest::syntheticSlidePath());
    QVERIFY(QTest::qWaitFor([&] { return opened.size() == 1; }, 20000));
    const QString truth = karyon::uitest::scratchDir().filePath(QStringLiteral("synthetic.geojson"));
    QSignalSpy imported(m_window.get(), &MainWindow::importFinished);
    QVERIFY(m_window->importGeoJson(truth));
    QVERIFY(imported.wait(30000));
    QVERIFY(imported.first().at(1).toLongLong() > 0);
    QVERIFY(QTest::qWaitFor([&] { return !m_window->isBusy(); }, 30000));
    QVERIFY2(m_reports.isEmpty(), qPrintable(m_reports.join(QLatin1Char('\n'))));
    auto* counts = m_window->findChild<QLabel*>(QStringLiteral("reviewCounts"));
    QVERIFY(counts);
    QVERIFY(counts->text().contains(QStringLiteral("Total")));
    QVERIFY(counts->isVisible());
    auto* dock = m_window->findChild<QDockWidget*>(QStringLiteral("reviewDock"));
    QVERIFY(dock && dock->isVisible());
    QCoreApplication::processEvents();
    QVERIFY2(counts->height() >= counts->sizeHint().height(),
             qPrintable(QStringLiteral("counts %1 px high, needs %2").arg(counts->height()).arg(counts->sizeHint().height())));
    const int bottom = counts->mapTo(dock, QPoint(0, counts->height())).y();
    QVERIFY2(bottom <= dock->height(),
             qPrintable(QStringLiteral("counts end at %1 px in a dock of %2").arg(bottom).arg(dock->height())));
  }

  void layout_is_kept_without_a_clean_quit() {
    newWindow();
    m_window->resize(1234, 777);
    // Saved shortly after the change (the window waits half a second for more)...
    QTest::qWait(1000);
    // ... so a crash (no close event, no quit) does not lose it.
    m_window.reset();
    newWindow();
    QCOMPARE(m_window->size(), QSize(1234, 777));
  }
};

QTEST_MAIN(FirstRunTest)
#include "ui_first_run_test.moc"
