# The Ruby face of a Java filter: Logstash finds the plugin by this class and
# runs io.slackalert.logstash.SlackAlert.
require 'logstash/filters/base'
require 'logstash/namespace'
require 'logstash-filter-slack_alert_jars'

class LogStash::Filters::SlackAlert < LogStash::Filters::Base
  config_name 'slack_alert'

  def self.javaClass
    # JRuby names the Java package io.slackalert.logstash as the module IoSlackalertLogstash.
    Java::IoSlackalertLogstash::SlackAlert.java_class
  end
end
