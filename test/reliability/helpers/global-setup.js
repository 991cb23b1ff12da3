module.exports = async () => require('./global').setup();
