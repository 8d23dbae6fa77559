// The app of README "The app API": ssb-client with its defaults (~/.ssb's keys and config)
// publishes a post and reads it back from three streams. interop.app_streams runs this file
// as it is against `sbot server`, printing one JSON line of what it saw.
var ssbClient = require('ssb-client')
var pull = require('pull-stream')

ssbClient(function (err, sbot) {
  if (err) throw err
  sbot.publish({ type: 'post', text: 'Hello, world!' }, function (err, msg) {
    if (err) throw err
    pull(sbot.createFeedStream({ reverse: true, limit: 1 }), pull.collect(function (err, feed) {
      if (err) throw err
      pull(sbot.createLogStream({ reverse: true, limit: 1 }), pull.collect(function (err, log) {
        if (err) throw err
        pull(sbot.createHistoryStream({ id: msg.value.author }), pull.collect(function (err, history) {
          if (err) throw err
          console.log(JSON.stringify({ msg: msg, feed: feed, log: log, history: history }))
          sbot.close(function () {})  // (ssb-server's too end with an error when closed mid-echo)
        }))
      }))
    }))
  })
})
