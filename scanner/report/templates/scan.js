/* patchmortem HTML report: draws the timeline from the JSON block and wires the zoom buttons.
   Evidence only ever reaches the page as data: textContent and Bokeh's escaped tooltips, never innerHTML. */
(function () {
  'use strict';
  var plot = document.getElementById('timeline-plot');
  function fail(reason) {
    plot.setAttribute('data-rendered', 'error');
    plot.textContent = 'The timeline plot could not be drawn (' + reason + '); the tables below hold the same facts.';
  }
  var item;
  try {
    item = JSON.parse(document.getElementById('timeline-data').textContent);
  } catch (err) {
    fail('bad plot data');
    return;
  }
  if (typeof Bokeh === 'undefined' || !Bokeh.embed) {
    fail('BokehJS missing');
    return;
  }
  Bokeh.embed.embed_item(item, 'timeline-plot').then(function () {
    var doc = Bokeh.documents[Bokeh.documents.length - 1];
    var range = doc.get_model_by_name('timeline-x');
    var buttons = document.querySelectorAll('.zoom button');
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener('click', function () {
        range.setv({start: Number(button.dataset.start), end: Number(button.dataset.end)});
        Array.prototype.forEach.call(buttons, function (b) { b.classList.toggle('active', b === button); });
      });
    });
    if (buttons.length) { buttons[0].classList.add('active'); }
    // Two frames: Bokeh paints on the next animation frame after the views are built.
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () { plot.setAttribute('data-rendered', 'true'); });
    });
  }, function () { fail('BokehJS error'); });
})();
